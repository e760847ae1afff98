// `mcp-warden operator`: parses flags (and the environment a Deployment provides), then runs the
// operator until SIGTERM or SIGINT, shutting down gracefully.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { startOperator, type HostPort } from "../operator/operator.ts";
import { DEFAULT_OPERATOR_NAMES } from "../operator/rbac/operator-rbac.ts";
import { UsageError } from "./usage-error.ts";

export const operatorUsage =
  "mcp-warden operator --sidecar-image IMAGE [--namespace NS] [--kubeconfig FILE] [--webhook-listen HOST:PORT] [--admin-listen HOST:PORT] " +
  "[--webhook-service NAME] [--webhook-host NAME|IP]... [--webhook-configuration NAME] [--webhook-secret NAME] [--certificate-source self|cert-manager] " +
  "[--lease NAME] [--no-leader-election] [--sidecar-pull-policy POLICY] [--sidecar-resources JSON] [--shutdown-delay SECONDS] [--log-level LEVEL] [--tracing off|otlp] [--trace-sampling-ratio RATIO] [--sidecar-otlp-endpoint URL]";

const VERSION = "0.1.0";

export async function runOperator(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "sidecar-image": { type: "string", default: env.MCP_WARDEN_SIDECAR_IMAGE },
      namespace: { type: "string", default: env.POD_NAMESPACE ?? DEFAULT_OPERATOR_NAMES.namespace },
      kubeconfig: { type: "string" },
      "webhook-listen": { type: "string", default: "0.0.0.0:9443" },
      "admin-listen": { type: "string", default: "0.0.0.0:9090" },
      "webhook-service": { type: "string", default: "mcp-warden-operator" },
      "webhook-host": { type: "string", multiple: true, default: [] },
      "webhook-configuration": { type: "string", default: DEFAULT_OPERATOR_NAMES.webhookConfiguration },
      "webhook-secret": { type: "string", default: DEFAULT_OPERATOR_NAMES.webhookSecret },
      "certificate-source": { type: "string", default: "self" },
      lease: { type: "string", default: DEFAULT_OPERATOR_NAMES.name },
      "no-leader-election": { type: "boolean", default: false },
      "sidecar-pull-policy": { type: "string", default: "IfNotPresent" },
      "sidecar-resources": { type: "string" },
      "shutdown-delay": { type: "string", default: "5" },
      "log-level": { type: "string", default: env.MCP_WARDEN_LOG_LEVEL ?? "info" },
      tracing: { type: "string", default: env.MCP_WARDEN_TRACING || "off" },
      "trace-sampling-ratio": { type: "string", default: env.MCP_WARDEN_TRACE_SAMPLING_RATIO },
      "sidecar-otlp-endpoint": { type: "string", default: env.MCP_WARDEN_SIDECAR_OTLP_ENDPOINT },
    },
  });
  const image = values["sidecar-image"];
  if (!image) throw new UsageError("operator needs --sidecar-image (or MCP_WARDEN_SIDECAR_IMAGE)");
  const source = values["certificate-source"];
  if (source !== "self" && source !== "cert-manager") throw new UsageError(`--certificate-source must be self or cert-manager, not "${source}"`);
  const pullPolicy = values["sidecar-pull-policy"];
  if (pullPolicy !== "Always" && pullPolicy !== "IfNotPresent" && pullPolicy !== "Never") throw new UsageError(`--sidecar-pull-policy must be Always, IfNotPresent or Never`);
  const shutdownDelay = Number(values["shutdown-delay"]);
  if (!Number.isFinite(shutdownDelay) || shutdownDelay < 0) throw new UsageError("--shutdown-delay must be a number of seconds");
  let resources;
  if (values["sidecar-resources"]) {
    try {
      resources = JSON.parse(values["sidecar-resources"]) as { requests?: Record<string, string>; limits?: Record<string, string> };
    } catch {
      throw new UsageError(`--sidecar-resources must be JSON such as {"requests":{"cpu":"50m","memory":"64Mi"}}`);
    }
  }

  const tracing = values.tracing;
  if (tracing !== "off" && tracing !== "otlp") throw new UsageError(`--tracing must be off or otlp, not "${tracing}"`);
  const ratioText = values["trace-sampling-ratio"];
  const ratio = ratioText === undefined || ratioText === "" ? undefined : Number(ratioText);
  if (ratio !== undefined && (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)) throw new UsageError(`--trace-sampling-ratio must be a number from 0 to 1, not "${ratioText}"`);

  const sidecarOtlp = values["sidecar-otlp-endpoint"];
  if (sidecarOtlp && !/^https?:\/\/[^/]/.test(sidecarOtlp)) throw new UsageError(`--sidecar-otlp-endpoint must be an http(s) URL, not "${sidecarOtlp}"`);

  const webhookListen = hostPort(values["webhook-listen"], "--webhook-listen");
  const adminListen = hostPort(values["admin-listen"], "--admin-listen");
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig({ kubeconfig: values.kubeconfig, env });
  } catch (error) {
    process.stderr.write(`mcp-warden operator: ${(error as Error).message}\n`);
    return 1;
  }

  const logger = pino({ level: values["log-level"], base: { component: "operator" } });
  const operator = await startOperator({
    kubeConfig,
    namespace: values.namespace,
    identity: env.POD_NAME ?? hostname(),
    sidecarImage: image,
    imagePullPolicy: pullPolicy,
    ...(resources ? { sidecarResources: resources } : {}),
    webhookListen,
    adminListen,
    webhookService: values["webhook-service"],
    extraHosts: values["webhook-host"],
    webhookConfiguration: values["webhook-configuration"],
    webhookSecret: values["webhook-secret"],
    certificateSource: source,
    leaseName: values.lease,
    leaderElection: !values["no-leader-election"],
    shutdownDelayMs: shutdownDelay * 1000,
    version: VERSION,
    logger,
    tracing,
    ...(ratio !== undefined ? { traceSamplingRatio: ratio } : {}),
    ...(sidecarOtlp ? { sidecarOtlpEndpoint: sidecarOtlp } : {}),
  });
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await operator.stop();
  return 0;
}

export function hostPort(value: string, flag: string): HostPort {
  const match = /^(.*):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new UsageError(`${flag} must be HOST:PORT, not "${value}"`);
  return { host: (match[1] ?? "").replace(/^\[(.*)\]$/, "$1") || "0.0.0.0", port };
}
