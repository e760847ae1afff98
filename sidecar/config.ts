// The sidecar's settings: every flag has an MCP_WARDEN_* environment variable (the flag wins), a
// default, and a line in `--help`, all from the one table below (the model: program/options.ts). The
// variables the operator's injector writes are named by the environment contract.
import { parseDuration } from "../policy/duration.ts";
import { ConfigError, OptionValues, optionsHelp, type OptionSpec } from "../program/options.ts";
import { parseHostPort, type HostPort } from "../program/host-port.ts";
import { LOG_LEVELS, type LogLevel } from "../program/logging.ts";
import { SIDECAR_ENV } from "../program/sidecar-environment.ts";
import {
  inClusterApiAccess,
  IN_CLUSTER_CA_FILE,
  IN_CLUSTER_TOKEN_FILE,
  type KubernetesApiAccess,
} from "./identity/kubernetes-api.ts";
import { TRACING_MODES, type TracingMode } from "../telemetry/tracing.ts";

export { ConfigError };
export type ListenAddress = HostPort;

export interface SidecarConfig {
  policy: string;
  upstream: URL;
  listen: ListenAddress;
  adminListen: ListenAddress;
  apiKeysFile: string | undefined;
  /** Key (≥ 32 bytes) that signs 2026-07-28 approval requestStates; random per process when unset. */
  approvalStateKeyFile: string | undefined;
  allowedOrigins: string[];
  publicUrl: URL | undefined;
  maxBodyBytes: number;
  maxJsonDepth: number;
  maxBatchSize: number;
  maxInspectBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  upstreamConnectTimeoutMs: number;
  upstreamHeadersTimeoutMs: number;
  upstreamKeepAliveTimeoutMs: number;
  upstreamMaxConnections: number | undefined;
  maxSessions: number;
  maxSessionsPerGrant: number;
  sessionIdleTimeoutMs: number;
  shutdownGraceMs: number;
  reloadDebounceMs: number;
  logLevel: LogLevel;
  kubernetesApi: KubernetesApiAccess | undefined;
  approvalKeepAliveMs: number;
  /** OpenTelemetry traces: off, or OTLP to the collector OTEL_EXPORTER_OTLP_ENDPOINT names. */
  tracing: TracingMode;
  /** Ratio of new traces sampled (parent-based), unless the policy's spec.sidecar.traceSamplingRatio sets one. */
  traceSamplingRatio: number | undefined;
}

const OPTIONS: readonly OptionSpec[] = [
  {
    flag: "policy",
    env: SIDECAR_ENV.policy,
    value: "FILE|k8s://NS/NAME",
    help: "McpPolicy YAML/JSON or PolicyLayer v1 JSON file (reloaded on change), or an McpPolicy in the API. Required.",
  },
  {
    flag: "upstream",
    env: SIDECAR_ENV.upstream,
    value: "URL",
    default: "http://127.0.0.1:8000/mcp",
    help: "The MCP server's Streamable HTTP endpoint; the sidecar serves MCP at the same path.",
  },
  {
    flag: "listen",
    env: SIDECAR_ENV.listen,
    value: "HOST:PORT",
    default: "0.0.0.0:8080",
    help: "Where agents connect.",
  },
  {
    flag: "admin-listen",
    env: SIDECAR_ENV.adminListen,
    value: "HOST:PORT",
    default: "0.0.0.0:9090",
    help: "GET /metrics, /healthz, /readyz.",
  },
  {
    flag: "api-keys",
    env: SIDECAR_ENV.apiKeys,
    value: "FILE",
    help: "API-key grants, one 'name: sha256hex(key)' per line (reloaded on change); used with the policy's identity.",
  },
  {
    flag: "allowed-origins",
    env: "MCP_WARDEN_ALLOWED_ORIGINS",
    value: "LIST",
    help: "Comma-separated Origins browsers may call from; others get 403 (adds to spec.sidecar.allowedOrigins).",
  },
  {
    flag: "public-url",
    env: "MCP_WARDEN_PUBLIC_URL",
    value: "URL",
    help: "The MCP endpoint's public URL, the `resource` of OAuth metadata (default: from the request's Host).",
  },
  {
    flag: "max-body-bytes",
    env: "MCP_WARDEN_MAX_BODY_BYTES",
    value: "N",
    default: "4194304",
    help: "Largest POST body accepted (413 above).",
  },
  {
    flag: "max-json-depth",
    env: "MCP_WARDEN_MAX_JSON_DEPTH",
    value: "N",
    default: "64",
    help: "Deepest JSON nesting accepted in a POST body.",
  },
  {
    flag: "max-batch",
    env: "MCP_WARDEN_MAX_BATCH",
    value: "N",
    default: "100",
    help: "Most messages in one JSON-RPC batch (2025-03-26).",
  },
  {
    flag: "max-inspect-bytes",
    env: "MCP_WARDEN_MAX_INSPECT_BYTES",
    value: "N",
    default: "33554432",
    help: "Largest upstream answer or SSE event the sidecar reads (tools/list filtering).",
  },
  {
    flag: "header-timeout",
    env: "MCP_WARDEN_HEADER_TIMEOUT",
    value: "DURATION",
    default: "10s",
    help: "Time a client has to send its request headers (slow-loris bound).",
  },
  {
    flag: "request-timeout",
    env: "MCP_WARDEN_REQUEST_TIMEOUT",
    value: "DURATION",
    default: "30s",
    help: "Time a client has to send its whole request (answers and streams are not bounded).",
  },
  {
    flag: "keep-alive-timeout",
    env: "MCP_WARDEN_KEEP_ALIVE_TIMEOUT",
    value: "DURATION",
    default: "75s",
    help: "Idle time before a client keep-alive connection is closed.",
  },
  {
    flag: "upstream-connect-timeout",
    env: "MCP_WARDEN_UPSTREAM_CONNECT_TIMEOUT",
    value: "DURATION",
    default: "5s",
    help: "Time to connect to the upstream.",
  },
  {
    flag: "upstream-headers-timeout",
    env: "MCP_WARDEN_UPSTREAM_HEADERS_TIMEOUT",
    value: "DURATION",
    default: "300s",
    help: "Time the upstream has to start answering (bodies and streams are not bounded).",
  },
  {
    flag: "upstream-keep-alive-timeout",
    env: "MCP_WARDEN_UPSTREAM_KEEP_ALIVE_TIMEOUT",
    value: "DURATION",
    default: "1s",
    help: "Idle time after which the sidecar closes an upstream connection; keep it below the MCP server's own (uvicorn and Node: 5s).",
  },
  {
    flag: "upstream-max-connections",
    env: "MCP_WARDEN_UPSTREAM_MAX_CONNECTIONS",
    value: "N",
    help: "Upper bound of upstream connections (default: unbounded; each open stream holds one).",
  },
  {
    flag: "max-sessions",
    env: "MCP_WARDEN_MAX_SESSIONS",
    value: "N",
    default: "10000",
    help: "MCP sessions remembered; when full, a grant's new session replaces its own least recently used (a first session: one of the grant holding the most).",
  },
  {
    flag: "max-sessions-per-grant",
    env: "MCP_WARDEN_MAX_SESSIONS_PER_GRANT",
    value: "N",
    default: "1000",
    help: "MCP sessions one grant (caller) may hold; beyond it the grant's own least recently used is forgotten, never another caller's.",
  },
  {
    flag: "session-idle-timeout",
    env: "MCP_WARDEN_SESSION_IDLE_TIMEOUT",
    value: "DURATION",
    default: "2h",
    help: "A session unused this long is forgotten (its client gets 404 and starts anew).",
  },
  {
    flag: "shutdown-grace",
    env: "MCP_WARDEN_SHUTDOWN_GRACE",
    value: "DURATION",
    default: "20s",
    help: "On SIGTERM, how long in-flight calls and streams may finish.",
  },
  {
    flag: "reload-debounce",
    env: "MCP_WARDEN_RELOAD_DEBOUNCE",
    value: "DURATION",
    default: "250ms",
    help: "Quiet time after a change of the policy or API-key file before it is re-read (at most twice this while it keeps changing).",
  },
  {
    flag: "log-level",
    env: "MCP_WARDEN_LOG_LEVEL",
    value: "LEVEL",
    default: "info",
    help: `Operational log level: ${LOG_LEVELS.join(", ")}. (Audit lines are always written.)`,
  },
  {
    flag: "approval-keep-alive",
    env: "MCP_WARDEN_APPROVAL_KEEP_ALIVE",
    value: "DURATION",
    default: "15s",
    help: "While a call waits for approval: how often its stream gets a progress notification (or an SSE comment).",
  },
  {
    flag: "tracing",
    env: SIDECAR_ENV.tracing,
    value: "off|otlp",
    default: "off",
    help: "OpenTelemetry traces of every request and decision: otlp exports them to OTEL_EXPORTER_OTLP_ENDPOINT (OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf, http/json or grpc); the other OTEL_* variables apply.",
  },
  {
    flag: "trace-sampling-ratio",
    env: "MCP_WARDEN_TRACE_SAMPLING_RATIO",
    value: "RATIO",
    help: "Ratio (0–1) of new traces sampled, parent-based; the policy's spec.sidecar.traceSamplingRatio wins (default: OTEL_TRACES_SAMPLER, else all).",
  },
  {
    flag: "approval-state-key",
    env: SIDECAR_ENV.approvalStateKey,
    value: "FILE",
    help: "Key (at least 32 bytes, e.g. a mounted Secret) that signs the requestState of 2026-07-28 approval round trips; replicas behind one Service need the same key. Default: a random key per process.",
  },
  {
    flag: "kubernetes-api",
    env: "MCP_WARDEN_KUBERNETES_API",
    value: "URL",
    help: "API server for service-account token verification (default: in-cluster).",
  },
  {
    flag: "kubernetes-token-file",
    env: "MCP_WARDEN_KUBERNETES_TOKEN_FILE",
    value: "FILE",
    default: IN_CLUSTER_TOKEN_FILE,
    help: "Token the sidecar presents to that API server.",
  },
  {
    flag: "kubernetes-ca-file",
    env: "MCP_WARDEN_KUBERNETES_CA_FILE",
    value: "FILE",
    default: IN_CLUSTER_CA_FILE,
    help: "CA bundle of that API server.",
  },
];

export const sidecarUsage =
  "mcp-warden sidecar --policy FILE|k8s://NS/NAME [--upstream URL] [--listen HOST:PORT] [--admin-listen HOST:PORT] [options]";

export function sidecarHelp(): string {
  return optionsHelp(sidecarUsage, OPTIONS);
}

export function parseSidecarConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  const values = new OptionValues(OPTIONS, argv, env);
  const text = (flag: string) => values.text(flag);
  const int = (flag: string, min: number) => values.int(flag, min);
  const url = (flag: string) => values.httpUrl(flag);
  const duration = (flag: string) => {
    const ms = parseDuration(text(flag) as string);
    if (ms === undefined) throw values.invalid(flag, "must be a duration such as 500ms, 10s, 5m");
    return ms;
  };

  const policy = text("policy");
  if (!policy) throw new ConfigError(`--policy (or ${SIDECAR_ENV.policy}) is required`);
  const upstream = url("upstream") as URL;
  if (upstream.search || upstream.hash) throw new ConfigError("--upstream must not have a query or fragment");
  const logLevel: LogLevel = values.oneOf("log-level", LOG_LEVELS);
  const explicitApi = url("kubernetes-api");
  const inCluster = inClusterApiAccess(env);
  const kubernetesApi =
    explicitApi || inCluster
      ? {
          server: (explicitApi?.origin ?? inCluster?.server) as string,
          tokenFile: text("kubernetes-token-file"),
          caFile: text("kubernetes-ca-file"),
        }
      : undefined;

  return {
    policy,
    upstream,
    listen: values.hostPort("listen", { portAlone: true }),
    adminListen: values.hostPort("admin-listen", { portAlone: true }),
    apiKeysFile: text("api-keys"),
    approvalStateKeyFile: text("approval-state-key"),
    allowedOrigins: (text("allowed-origins") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    publicUrl: url("public-url"),
    maxBodyBytes: int("max-body-bytes", 1) as number,
    maxJsonDepth: int("max-json-depth", 2) as number,
    maxBatchSize: int("max-batch", 1) as number,
    maxInspectBytes: int("max-inspect-bytes", 1024) as number,
    headersTimeoutMs: duration("header-timeout"),
    requestTimeoutMs: duration("request-timeout"),
    keepAliveTimeoutMs: duration("keep-alive-timeout"),
    upstreamConnectTimeoutMs: duration("upstream-connect-timeout"),
    upstreamHeadersTimeoutMs: duration("upstream-headers-timeout"),
    upstreamKeepAliveTimeoutMs: duration("upstream-keep-alive-timeout"),
    upstreamMaxConnections: int("upstream-max-connections", 1),
    maxSessions: int("max-sessions", 1) as number,
    maxSessionsPerGrant: int("max-sessions-per-grant", 1) as number,
    sessionIdleTimeoutMs: duration("session-idle-timeout"),
    shutdownGraceMs: duration("shutdown-grace"),
    reloadDebounceMs: duration("reload-debounce"),
    logLevel,
    kubernetesApi,
    approvalKeepAliveMs: duration("approval-keep-alive"),
    tracing: values.oneOf<TracingMode>("tracing", TRACING_MODES),
    traceSamplingRatio: values.ratio("trace-sampling-ratio"),
  };
}

/** A listen address as the sidecar reads it: HOST:PORT, or PORT alone. */
export function parseListen(flag: string, value: string): ListenAddress {
  return parseHostPort(value, `--${flag}`, { portAlone: true });
}

/** Config for tests and embedding: the defaults with some settings replaced. */
export function sidecarConfig(
  overrides: Partial<SidecarConfig> & Pick<SidecarConfig, "policy" | "upstream">,
): SidecarConfig {
  const base = parseSidecarConfig(["--policy", overrides.policy, "--upstream", overrides.upstream.href], {});
  return { ...base, ...overrides };
}
