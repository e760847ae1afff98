// Certificates for a test control plane, made with the openssl CLI: a CA per cluster, serving and
// client certificates it signs (ECDSA P-256, one day), and the service-account signing key (RSA 2048,
// the common choice of real clusters, so tokens are RS256 as on kubeadm, EKS or GKE).
import { execFile } from "node:child_process";
import { generateKeyPair } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export type CertificateUsage = "server" | "client";

export interface CertificateRequest {
  /** File name stem in the CA's directory: <name>.crt and <name>.key. */
  name: string;
  commonName: string;
  /** Subject organizations; Kubernetes reads them as the user's groups (e.g. system:masters). */
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: CertificateUsage;
  days?: number;
}

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

// Subject values and names go into an openssl config file; keep them to characters that need no quoting.
const safeValue = /^[A-Za-z0-9][A-Za-z0-9 :._@*-]*$/;
const safeName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checked(value: string, what: string, pattern = safeValue): string {
  if (!pattern.test(value))
    throw new Error(`certificate ${what} ${JSON.stringify(value)} has characters this helper does not accept`);
  return value;
}

function opensslConfig(subject: { commonName: string; organizations?: string[] }, extensions: string[]): string {
  const dn = [
    ...(subject.organizations ?? []).map((org, index) => `${index}.O = ${checked(org, "organization")}`),
    `CN = ${checked(subject.commonName, "common name")}`,
  ];
  return ["[req]", "distinguished_name = dn", "prompt = no", "[dn]", ...dn, "[ext]", ...extensions, ""].join("\n");
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

export class CertificateAuthority {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;

  private constructor(dir: string, certFile: string, keyFile: string, certPem: string) {
    this.dir = dir;
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.certPem = certPem;
  }

  /** A new self-signed CA whose files (<name>.crt, <name>.key) live in dir. */
  static async create(dir: string, name: string, commonName: string): Promise<CertificateAuthority> {
    const certFile = join(dir, `${checked(name, "file name", safeName)}.crt`);
    const keyFile = join(dir, `${name}.key`);
    const configFile = join(dir, `${name}.cnf`);
    await writeFile(
      configFile,
      opensslConfig({ commonName }, [
        "basicConstraints = critical,CA:TRUE",
        "keyUsage = critical,keyCertSign,cRLSign,digitalSignature",
        "subjectKeyIdentifier = hash",
      ]),
    );
    await openssl([
      "req",
      "-x509",
      "-new",
      ...newKey,
      "-days",
      "2",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-config",
      configFile,
      "-extensions",
      "ext",
    ]);
    return new CertificateAuthority(dir, certFile, keyFile, await readFile(certFile, "utf8"));
  }

  async issue(request: CertificateRequest): Promise<IssuedCertificate> {
    const certFile = join(this.dir, `${checked(request.name, "file name", safeName)}.crt`);
    const keyFile = join(this.dir, `${request.name}.key`);
    const configFile = join(this.dir, `${request.name}.cnf`);
    const altNames = [
      ...(request.dnsNames ?? []).map((dns, index) => `DNS.${index + 1} = ${checked(dns, "DNS name")}`),
      ...(request.ipAddresses ?? []).map((ip, index) => `IP.${index + 1} = ${checked(ip, "IP address")}`),
    ];
    if (request.usage === "server" && altNames.length === 0)
      throw new Error(`serving certificate ${request.name} needs DNS names or IP addresses`);
    await writeFile(
      configFile,
      opensslConfig(request, [
        "basicConstraints = critical,CA:FALSE",
        "keyUsage = critical,digitalSignature,keyEncipherment",
        `extendedKeyUsage = ${request.usage === "server" ? "serverAuth" : "clientAuth"}`,
        "authorityKeyIdentifier = keyid",
        ...(altNames.length > 0 ? ["subjectAltName = @alt", "[alt]", ...altNames] : []),
      ]),
    );
    await openssl([
      "req",
      "-x509",
      "-new",
      ...newKey,
      "-days",
      String(request.days ?? 1),
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-config",
      configFile,
      "-extensions",
      "ext",
      "-CA",
      this.certFile,
      "-CAkey",
      this.keyFile,
    ]);
    const [certPem, keyPem] = await Promise.all([readFile(certFile, "utf8"), readFile(keyFile, "utf8")]);
    return { certFile, keyFile, certPem, keyPem };
  }
}

export interface ServiceAccountKey {
  privateKeyFile: string;
  publicKeyFile: string;
}

/** The key pair the API server signs service-account tokens with (and the controller-manager, legacy ones). */
export async function createServiceAccountKey(dir: string): Promise<ServiceAccountKey> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const privateKeyFile = join(dir, "service-account.key");
  const publicKeyFile = join(dir, "service-account.pub");
  await Promise.all([writeFile(privateKeyFile, privateKey, { mode: 0o600 }), writeFile(publicKeyFile, publicKey)]);
  return { privateKeyFile, publicKeyFile };
}
