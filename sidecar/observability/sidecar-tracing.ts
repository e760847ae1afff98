// The sidecar's tracing: off unless --tracing otlp; new traces sampled at the policy's
// spec.sidecar.traceSamplingRatio, else --trace-sampling-ratio, else OTEL_TRACES_SAMPLER (read per
// trace, so a policy change applies to the next request). Spans that never reach the collector are
// counted in mcp_warden_spans_dropped_total; an export failure is logged once per run of failures.
import type { Logger } from "pino";
import type { CompiledPolicy } from "../../policy/compile.ts";
import { startTracing, type Tracing, type TracingMode } from "../../telemetry/tracing.ts";
import type { SidecarMetrics } from "./metrics.ts";

/** What tracing reads of the sidecar's settings (SidecarConfig has these fields). */
export interface TracingSettings {
  readonly tracing: TracingMode;
  readonly traceSamplingRatio: number | undefined;
}

/** Where tracing reads the policy in force (the PolicyHolder), for its sampling ratio. */
export interface PolicyInForce {
  readonly current: CompiledPolicy | undefined;
}

/** How long a shutdown waits for the last spans to be exported. */
const FLUSH_ON_SHUTDOWN_MS = 2000;

export async function startSidecarTracing(
  config: TracingSettings,
  holder: PolicyInForce,
  metrics: SidecarMetrics,
  log: Logger,
  version: string,
): Promise<Tracing> {
  const tracing = await startTracing(config.tracing, {
    serviceName: "mcp-warden-sidecar",
    serviceVersion: version,
    samplingRatio: () => holder.current?.spec.sidecar?.traceSamplingRatio ?? config.traceSamplingRatio,
    onDropped: (spans) => metrics.spansDropped.inc(spans),
    onExportError: (message) =>
      log.warn({ err: message }, "trace export failed; spans are dropped until the collector answers"),
  });
  if (tracing.enabled)
    log.info(
      {
        endpoint:
          process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
          process.env.OTEL_EXPORTER_OTLP_ENDPOINT ??
          "http://localhost:4318",
      },
      "exporting traces (OTLP)",
    );
  return tracing;
}

/** Exports what is queued, for a bounded time: a collector that is down never holds up a shutdown. */
export async function stopTracing(tracing: Tracing): Promise<void> {
  if (!tracing.enabled) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    tracing.shutdown().catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, FLUSH_ON_SHUTDOWN_MS))),
  ]);
  clearTimeout(timer);
}
