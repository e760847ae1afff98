// The OTEL_* environment variables the tracing reads itself (the SDK's trace provider no longer
// does): the sampler and the batch span processor. The exporter reads its own
// (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION) and the resource
// detector OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. A value that cannot be read is an error
// with the variable's name, never silently a default.

export interface SamplerSetting {
  /** Whether a span with a parent follows its parent's decision. */
  parentBased: boolean;
  /** The ratio of root spans sampled (always_on: 1, always_off: 0). */
  ratio: number;
}

export interface BatchSettings {
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  maxQueueSize: number;
  maxExportBatchSize: number;
}

export class TracingConfigError extends Error {
  override name = "TracingConfigError";
}

const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
];

export function samplerFromEnv(env: NodeJS.ProcessEnv): SamplerSetting {
  const name = (env.OTEL_TRACES_SAMPLER?.trim() || "parentbased_always_on").toLowerCase();
  if (!SAMPLERS.includes(name))
    throw new TracingConfigError(`OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(", ")}, got "${name}"`);
  const parentBased = name.startsWith("parentbased_");
  if (name.endsWith("always_on")) return { parentBased, ratio: 1 };
  if (name.endsWith("always_off")) return { parentBased, ratio: 0 };
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  return { parentBased, ratio: arg === undefined || arg === "" ? 1 : samplingRatio("OTEL_TRACES_SAMPLER_ARG", arg) };
}

/** A sampling ratio from text: a number from 0 to 1. */
export function samplingRatio(what: string, text: string): number {
  const ratio = Number(text);
  if (text.trim() === "" || !Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    throw new TracingConfigError(`${what} must be a number from 0 to 1, got "${text}"`);
  return ratio;
}

export function batchFromEnv(env: NodeJS.ProcessEnv): BatchSettings {
  const settings = {
    scheduledDelayMillis: integer(env, "OTEL_BSP_SCHEDULE_DELAY", 5000, 0),
    exportTimeoutMillis: integer(env, "OTEL_BSP_EXPORT_TIMEOUT", 30000, 1),
    maxQueueSize: integer(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1),
    maxExportBatchSize: integer(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1),
  };
  if (settings.maxExportBatchSize > settings.maxQueueSize) {
    throw new TracingConfigError(
      `OTEL_BSP_MAX_EXPORT_BATCH_SIZE (${settings.maxExportBatchSize}) must not exceed OTEL_BSP_MAX_QUEUE_SIZE (${settings.maxQueueSize})`,
    );
  }
  return settings;
}

export const OTLP_PROTOCOLS = ["http/protobuf", "http/json", "grpc"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The OTLP protocol asked for (the specification's default: http/protobuf); only OTLP exporters exist here. */
export function exportProtocol(env: NodeJS.ProcessEnv): OtlpProtocol {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter !== undefined && exporter !== "" && exporter !== "otlp")
    throw new TracingConfigError(`OTEL_TRACES_EXPORTER "${exporter}" is not supported (otlp)`);
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() ||
    env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() ||
    "http/protobuf") as OtlpProtocol;
  if (!OTLP_PROTOCOLS.includes(protocol))
    throw new TracingConfigError(
      `OTEL_EXPORTER_OTLP_PROTOCOL must be one of ${OTLP_PROTOCOLS.join(", ")}, got "${protocol}"`,
    );
  return protocol;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const text = env[name]?.trim();
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min)
    throw new TracingConfigError(`${name} must be an integer ≥ ${min}, got "${text}"`);
  return n;
}
