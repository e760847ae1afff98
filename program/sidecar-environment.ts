// The sidecar's environment contract: the variables the operator's injector writes into the sidecar
// container and the formats of their values. The sidecar's option table reads the same names, and
// test/operator/sidecar-environment.test.ts parses every injected container of the injector's golden
// files with the sidecar's own parser.

/** The variables, by what they set. */
export const SIDECAR_ENV = {
  policy: "MCP_WARDEN_POLICY",
  upstream: "MCP_WARDEN_UPSTREAM",
  listen: "MCP_WARDEN_LISTEN",
  adminListen: "MCP_WARDEN_ADMIN_LISTEN",
  apiKeys: "MCP_WARDEN_API_KEYS",
  approvalStateKey: "MCP_WARDEN_APPROVAL_STATE_KEY",
  tracing: "MCP_WARDEN_TRACING",
  /** Read by the Redis rate-limit store, never by the option table: it carries a password (ADR 0401). */
  redisUrl: "MCP_WARDEN_REDIS_URL",
  /** OpenTelemetry's own variable, read by the trace exporter. */
  otlpEndpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
  /** Node's own variable: the old-space cap the injector derives from the memory limit (ADR 0961). */
  nodeOptions: "NODE_OPTIONS",
} as const;

/** How a policy in the Kubernetes API is named: k8s://NAMESPACE/NAME. */
export const KUBERNETES_POLICY_SCHEME = "k8s://";

export function kubernetesPolicy(namespace: string, name: string): string {
  return `${KUBERNETES_POLICY_SCHEME}${namespace}/${name}`;
}

/** The MCP server in the same pod, bound to loopback so only the sidecar reaches it. */
export function loopbackUpstream(port: number, path: string): string {
  return `http://127.0.0.1:${port}${path}`;
}

/** A listen address on every interface of the pod. */
export function allInterfaces(port: number): string {
  return `0.0.0.0:${port}`;
}

/** The tracing mode an injected sidecar gets when the operator names a collector. */
export const INJECTED_TRACING = "otlp";
