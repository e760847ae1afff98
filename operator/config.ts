// The operator's settings: every flag has an environment variable (the flag wins), a default, and a
// line in `--help`, all from the one table below (the model: program/options.ts, as the sidecar's).
// The chart passes flags; POD_NAMESPACE and POD_NAME come from the Deployment's downward API.
import { hostname } from "node:os";
import { ConfigError, OptionValues, optionsHelp, type OptionSpec } from "../program/options.ts";
import { LOG_LEVELS, type LogLevel } from "../program/logging.ts";
import { TRACING_MODES, type TracingMode } from "../telemetry/tracing.ts";
import type { ResourceRequirements } from "./injector/config.ts";
import type { OperatorOptions } from "./operator.ts";
import { DEFAULT_OPERATOR_NAMES } from "./rbac/operator-rbac.ts";

/** What the command line and environment decide; the CLI adds the Kubernetes client and the logger. */
export interface OperatorConfig {
  /** A kubeconfig file; unset: KUBECONFIG, else in-cluster, else ~/.kube/config (kube/kubeconfig.ts). */
  kubeconfig: string | undefined;
  logLevel: LogLevel;
  operator: Omit<OperatorOptions, "kubeConfig" | "logger" | "clock" | "version">;
}

const PULL_POLICIES = ["Always", "IfNotPresent", "Never"] as const;
const CERTIFICATE_SOURCES = ["self", "cert-manager"] as const;

const OPTIONS: readonly OptionSpec[] = [
  {
    flag: "sidecar-image",
    env: "MCP_WARDEN_SIDECAR_IMAGE",
    value: "IMAGE",
    help: "The image of the injected sidecar (the chart: the operator's own). Required.",
  },
  {
    flag: "namespace",
    env: "POD_NAMESPACE",
    value: "NS",
    default: DEFAULT_OPERATOR_NAMES.namespace,
    help: "The operator's namespace: its Secret, Lease and Service live there, and it is never injected.",
  },
  {
    flag: "kubeconfig",
    value: "FILE",
    help: "Kubeconfig of the API server (default: KUBECONFIG, else the pod's service account, else ~/.kube/config).",
  },
  {
    flag: "webhook-listen",
    env: "MCP_WARDEN_WEBHOOK_LISTEN",
    value: "HOST:PORT",
    default: "0.0.0.0:9443",
    help: "Where the injector webhook serves TLS (/mutate-pods).",
  },
  {
    flag: "admin-listen",
    env: "MCP_WARDEN_ADMIN_LISTEN",
    value: "HOST:PORT",
    default: "0.0.0.0:9090",
    help: "GET /metrics, /healthz, /readyz.",
  },
  {
    flag: "webhook-service",
    env: "MCP_WARDEN_WEBHOOK_SERVICE",
    value: "NAME",
    default: "mcp-warden-operator",
    help: "The Service in front of the webhook; its DNS names go into the serving certificate.",
  },
  {
    flag: "webhook-host",
    env: "MCP_WARDEN_WEBHOOK_HOSTS",
    value: "NAME|IP",
    repeatable: true,
    help: "Another name or IP for the serving certificate (repeatable; the variable: a comma-separated list).",
  },
  {
    flag: "webhook-configuration",
    env: "MCP_WARDEN_WEBHOOK_CONFIGURATION",
    value: "NAME",
    default: DEFAULT_OPERATOR_NAMES.webhookConfiguration,
    help: "The MutatingWebhookConfiguration whose caBundle the operator keeps current.",
  },
  {
    flag: "webhook-secret",
    env: "MCP_WARDEN_WEBHOOK_SECRET",
    value: "NAME",
    default: DEFAULT_OPERATOR_NAMES.webhookSecret,
    help: "The Secret holding the webhook's CA and serving certificate.",
  },
  {
    flag: "certificate-source",
    env: "MCP_WARDEN_CERTIFICATE_SOURCE",
    value: "self|cert-manager",
    default: "self",
    help: "self: the operator creates and rotates its CA and certificate; cert-manager: it reads the Secret cert-manager writes.",
  },
  {
    flag: "lease",
    env: "MCP_WARDEN_LEASE",
    value: "NAME",
    default: DEFAULT_OPERATOR_NAMES.name,
    help: "The Lease of leader election; the holder runs the controller.",
  },
  {
    flag: "no-leader-election",
    env: "MCP_WARDEN_NO_LEADER_ELECTION",
    help: "Run the controller without a Lease (one replica only; the variable: true or false).",
  },
  {
    flag: "sidecar-pull-policy",
    env: "MCP_WARDEN_SIDECAR_PULL_POLICY",
    value: "POLICY",
    default: "IfNotPresent",
    help: `The injected sidecar's imagePullPolicy: ${PULL_POLICIES.join(", ")}.`,
  },
  {
    flag: "sidecar-resources",
    env: "MCP_WARDEN_SIDECAR_RESOURCES",
    value: "JSON",
    help: "The injected sidecar's resources unless its policy sets spec.sidecar.resources (default: 50m CPU and 64Mi requested, 256Mi limit).",
  },
  {
    flag: "shutdown-delay",
    env: "MCP_WARDEN_SHUTDOWN_DELAY",
    value: "SECONDS",
    default: "5",
    help: "On SIGTERM, time between dropping readiness and closing the webhook, so Services stop sending admissions first.",
  },
  {
    flag: "log-level",
    env: "MCP_WARDEN_LOG_LEVEL",
    value: "LEVEL",
    default: "info",
    help: `Log level: ${LOG_LEVELS.join(", ")}.`,
  },
  {
    flag: "tracing",
    env: "MCP_WARDEN_TRACING",
    value: "off|otlp",
    default: "off",
    help: "OpenTelemetry traces of admissions: otlp exports them to OTEL_EXPORTER_OTLP_ENDPOINT (the other OTEL_* variables apply).",
  },
  {
    flag: "trace-sampling-ratio",
    env: "MCP_WARDEN_TRACE_SAMPLING_RATIO",
    value: "RATIO",
    help: "Ratio (0–1) of new traces sampled, parent-based (default: OTEL_TRACES_SAMPLER, else all).",
  },
  {
    flag: "sidecar-otlp-endpoint",
    env: "MCP_WARDEN_SIDECAR_OTLP_ENDPOINT",
    value: "URL",
    help: "The collector injected sidecars export their traces to (unset: their tracing stays off).",
  },
];

export const operatorUsage =
  "mcp-warden operator --sidecar-image IMAGE [--namespace NS] [--kubeconfig FILE] [--webhook-listen HOST:PORT] [--admin-listen HOST:PORT] " +
  "[--webhook-service NAME] [--webhook-host NAME|IP]... [--webhook-configuration NAME] [--webhook-secret NAME] [--certificate-source self|cert-manager] " +
  "[--lease NAME] [--no-leader-election] [--sidecar-pull-policy POLICY] [--sidecar-resources JSON] [--shutdown-delay SECONDS] [--log-level LEVEL] [--tracing off|otlp] [--trace-sampling-ratio RATIO] [--sidecar-otlp-endpoint URL]";

export function operatorHelp(): string {
  return optionsHelp(operatorUsage, OPTIONS, [
    "Also read: POD_NAME (this replica's identity in the Lease and on Events; default: the host name).",
  ]);
}

export function parseOperatorConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const values = new OptionValues(OPTIONS, argv, env);
  const sidecarImage = values.text("sidecar-image");
  if (!sidecarImage) throw new ConfigError("operator needs --sidecar-image (or MCP_WARDEN_SIDECAR_IMAGE)");
  const traceSamplingRatio = values.ratio("trace-sampling-ratio");
  const sidecarOtlpEndpoint = values.httpUrl("sidecar-otlp-endpoint") && values.text("sidecar-otlp-endpoint");
  const sidecarResources = values.json("sidecar-resources", `{"requests":{"cpu":"50m","memory":"64Mi"}}`) as
    ResourceRequirements | undefined;
  const tracing: TracingMode = values.oneOf("tracing", TRACING_MODES);
  return {
    kubeconfig: values.text("kubeconfig"),
    logLevel: values.oneOf("log-level", LOG_LEVELS),
    operator: {
      namespace: values.text("namespace") as string,
      identity: env.POD_NAME ?? hostname(),
      sidecarImage,
      imagePullPolicy: values.oneOf("sidecar-pull-policy", PULL_POLICIES),
      ...(sidecarResources ? { sidecarResources } : {}),
      webhookListen: values.hostPort("webhook-listen"),
      adminListen: values.hostPort("admin-listen"),
      webhookService: values.text("webhook-service") as string,
      extraHosts: values.list("webhook-host"),
      webhookConfiguration: values.text("webhook-configuration") as string,
      webhookSecret: values.text("webhook-secret") as string,
      certificateSource: values.oneOf("certificate-source", CERTIFICATE_SOURCES),
      leaseName: values.text("lease") as string,
      leaderElection: !values.switch("no-leader-election"),
      shutdownDelayMs: (values.number("shutdown-delay", 0, "a number of seconds") as number) * 1000,
      tracing,
      ...(traceSamplingRatio !== undefined ? { traceSamplingRatio } : {}),
      ...(sidecarOtlpEndpoint ? { sidecarOtlpEndpoint } : {}),
    },
  };
}
