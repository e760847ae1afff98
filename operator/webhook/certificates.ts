// Issuing the webhook's own CA and serving certificates (ECDSA P-256, SHA-256) with @peculiar/x509
// on WebCrypto, since Node's crypto can parse certificates but not issue them. Parsing and
// signature checks use Node's X509Certificate.
// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API first.
import "reflect-metadata";
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
  X509Certificate as PeculiarCertificate,
} from "@peculiar/x509";

const subtle = webcrypto.subtle;
const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
/** Allowance for clocks a little behind ours. */
export const BACKDATE_MS = 5 * 60_000;

export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface CertificateInfo {
  notBefore: number;
  notAfter: number;
  subject: string;
  dnsNames: string[];
  ipAddresses: string[];
  isCA: boolean;
  fingerprint: string;
}

export async function createCertificateAuthority(
  commonName: string,
  now: number,
  validityMs: number,
): Promise<KeyPairPem> {
  const keys = await subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + validityMs),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new BasicConstraintsExtension(true, 0, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature, true),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString("pem") + "\n", key: await exportKey(keys.privateKey) };
}

/** A serving certificate for `hosts` (DNS names and IP addresses), signed by `ca`, never outliving it. */
export async function issueServingCertificate(
  ca: KeyPairPem,
  hosts: readonly string[],
  now: number,
  validityMs: number,
): Promise<KeyPairPem> {
  const caCert = new PeculiarCertificate(ca.cert);
  const caKey = await subtle.importKey("pkcs8", pkcs8Der(ca.key), KEY_ALGORITHM, false, ["sign"]);
  const keys = await subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
  const notAfter = Math.min(now + validityMs, caCert.notAfter.getTime());
  const cert = await X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hosts[0] ?? "mcp-warden-webhook"}`,
    issuer: caCert.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
      new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
      new SubjectAlternativeNameExtension(hosts.map((h) => ({ type: isIP(h) ? "ip" : "dns", value: h }))),
      await AuthorityKeyIdentifierExtension.create(caCert),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString("pem") + "\n", key: await exportKey(keys.privateKey) };
}

/** Reads a PEM certificate; undefined when it is not one. */
export function certificateInfo(pem: string | undefined): CertificateInfo | undefined {
  if (!pem) return undefined;
  try {
    const cert = new X509Certificate(pem);
    const names = (cert.subjectAltName ?? "").split(", ").filter(Boolean);
    return {
      notBefore: Date.parse(cert.validFrom),
      notAfter: Date.parse(cert.validTo),
      subject: cert.subject,
      dnsNames: names.filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4)),
      ipAddresses: names.filter((n) => n.startsWith("IP Address:")).map((n) => n.slice(11)),
      isCA: cert.ca,
      fingerprint: cert.fingerprint256,
    };
  } catch {
    return undefined;
  }
}

/** Whether `cert` was signed by `ca` (and names it as issuer). */
export function isSignedBy(cert: string | undefined, ca: string | undefined): boolean {
  if (!cert || !ca) return false;
  try {
    const leaf = new X509Certificate(cert);
    const issuer = new X509Certificate(ca);
    return leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Whether `key` is the private key of `cert`. */
export function keyMatches(cert: string | undefined, key: string | undefined): boolean {
  if (!cert || !key) return false;
  try {
    return new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}

/** Splits a PEM bundle into its certificates. */
export function splitPemBundle(bundle: string | undefined): string[] {
  return (
    (bundle ?? "").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((c) => c + "\n") ?? []
  );
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey("pkcs8", key));
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join("\n")}\n-----END PRIVATE KEY-----\n`;
}

function pkcs8Der(pem: string): Buffer {
  return createPrivateKey(pem).export({ format: "der", type: "pkcs8" });
}

/** A positive 128-bit serial number (the high bit cleared so DER keeps it positive). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString("hex");
}
