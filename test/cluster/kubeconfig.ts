// Kubeconfig files for the test cluster: the same file serves kubectl, helm, a locally run operator
// or sidecar (--kubeconfig), and @kubernetes/client-node, so every client sees one configuration.
import { writeFile } from "node:fs/promises";
import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";

export type KubeconfigUser = { clientCertPem: string; clientKeyPem: string } | { token: string };

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  /** Names the user and context, e.g. "admin" or "system:serviceaccount:ns:name". */
  userName: string;
  user: KubeconfigUser;
  /** Default namespace of the context. */
  namespace?: string;
}

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

export function kubeconfigText(spec: KubeconfigSpec): string {
  const user =
    "token" in spec.user
      ? { token: spec.user.token }
      : {
          "client-certificate-data": base64(spec.user.clientCertPem),
          "client-key-data": base64(spec.user.clientKeyPem),
        };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "mcp-warden-test", cluster: { server: spec.server, "certificate-authority-data": base64(spec.caPem) } },
    ],
    users: [{ name: spec.userName, user }],
    contexts: [
      {
        name: spec.userName,
        context: {
          cluster: "mcp-warden-test",
          user: spec.userName,
          ...(spec.namespace ? { namespace: spec.namespace } : {}),
        },
      },
    ],
    "current-context": spec.userName,
  });
}

/** Writes the kubeconfig file (mode 0600: it holds credentials) and returns it loaded for client-node. */
export async function writeKubeconfig(file: string, spec: KubeconfigSpec): Promise<KubeConfig> {
  const text = kubeconfigText(spec);
  await writeFile(file, text, { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(text);
  return kubeConfig;
}
