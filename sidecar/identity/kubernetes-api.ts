// How the sidecar reaches its cluster's API server (for service-account token verification): the
// in-cluster defaults every pod gets, or explicit settings.
export const IN_CLUSTER_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";
export const IN_CLUSTER_CA_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

export interface KubernetesApiAccess {
  /** https://host:port of the API server. */
  server: string;
  /** The sidecar's own token, re-read on every request (projected tokens rotate). */
  tokenFile: string | undefined;
  caFile: string | undefined;
}

/** The in-cluster API server from the environment every pod gets, if any. */
export function inClusterApiAccess(env: NodeJS.ProcessEnv = process.env): KubernetesApiAccess | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) return undefined;
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    tokenFile: IN_CLUSTER_TOKEN_FILE,
    caFile: IN_CLUSTER_CA_FILE,
  };
}
