// The identities of a test cluster: its CA, the API server's serving certificate, the admin and
// controller-manager client certificates, the service-account signing key, and a separate CA for
// the serving certificates of webhook servers that tests run (so trusting one never trusts the other).
import { join } from "node:path";
import { CertificateAuthority, createServiceAccountKey } from "./pki.ts";
import type { IssuedCertificate, ServiceAccountKey } from "./pki.ts";

export interface ClusterPki {
  ca: CertificateAuthority;
  webhookCa: CertificateAuthority;
  serviceAccountKey: ServiceAccountKey;
  apiServerServing: IssuedCertificate;
  admin: IssuedCertificate;
  controllerManager: IssuedCertificate;
}

export async function createClusterPki(dir: string, extraIpAddresses: string[] = []): Promise<ClusterPki> {
  const pkiDir = join(dir, "pki");
  const [ca, webhookCa, serviceAccountKey] = await Promise.all([
    CertificateAuthority.create(pkiDir, "ca", "mcp-warden-test-cluster-ca"),
    CertificateAuthority.create(pkiDir, "webhook-ca", "mcp-warden-test-webhook-ca"),
    createServiceAccountKey(pkiDir),
  ]);
  const [apiServerServing, admin, controllerManager] = await Promise.all([
    ca.issue({
      name: "kube-apiserver",
      commonName: "kube-apiserver",
      usage: "server",
      // What in-cluster clients would use too, should a test hand the kubernetes Service's names around.
      dnsNames: [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
      ],
      ipAddresses: ["127.0.0.1", "10.0.0.1", ...extraIpAddresses],
    }),
    ca.issue({
      name: "admin",
      commonName: "mcp-warden-test-admin",
      organizations: ["system:masters"],
      usage: "client",
    }),
    ca.issue({ name: "kube-controller-manager", commonName: "system:kube-controller-manager", usage: "client" }),
  ]);
  return { ca, webhookCa, serviceAccountKey, apiServerServing, admin, controllerManager };
}
