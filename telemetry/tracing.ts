// Traces as the sidecar and the operator see them: spans as handles of this module's own, so that
// with tracing off (the default) no OpenTelemetry module is loaded at all. The SDK (otel-sdk.ts) is
// imported only when tracing is turned on, and everything it needs is read from the standard
// OTEL_* environment variables.

import type { Tracing, TracingOptions } from "./trace-types.ts";

export type {
  AttributeValue,
  Attributes,
  SpanKindName,
  TraceCarrier,
  TraceSpan,
  Tracing,
  TracingOptions,
} from "./trace-types.ts";

export const TRACING_MODES = ["off", "otlp"] as const;
export type TracingMode = (typeof TRACING_MODES)[number];

export const TRACING_OFF: Tracing = Object.freeze({
  enabled: false,
  start: () => undefined,
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
});

/** The tracing of a process: off, or OTLP (HTTP or gRPC) to the collector the OTEL_* variables name. */
export async function startTracing(mode: TracingMode, options: TracingOptions): Promise<Tracing> {
  const env = options.env ?? process.env;
  // OTEL_SDK_DISABLED=true turns every signal off, whatever else asks for it.
  if (mode === "off" || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return TRACING_OFF;
  const sdk = await import("./otel-sdk.ts");
  return await sdk.createOtlpTracing(options);
}
