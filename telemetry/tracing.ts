// Traces as the sidecar and the operator see them: spans as handles of this module's own, so that
// with tracing off (the default) no OpenTelemetry module is loaded at all. The SDK (otel-sdk.ts) is
// imported only when tracing is turned on, and everything it needs is read from the standard
// OTEL_* environment variables.

export type SpanKindName = "server" | "client" | "internal";
export type AttributeValue = string | number | boolean;
/** Span attributes; undefined values are left out. */
export type Attributes = Readonly<Record<string, AttributeValue | undefined>>;

/** W3C trace-context fields, as an HTTP request's headers or an MCP request's `params._meta` carry them. */
export interface TraceCarrier {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

export interface TraceSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Whether the span is recorded and exported (the sampler's decision). */
  readonly sampled: boolean;
  setAttributes(attributes: Attributes): void;
  /** Marks the span failed: status ERROR and `error.type`. */
  fail(errorType: string, message?: string): void;
  child(name: string, kind: SpanKindName, attributes?: Attributes): TraceSpan;
  /** This span's context, for a request it makes (traceparent, tracestate). */
  carrier(): TraceCarrier;
  end(): void;
}

export interface Tracing {
  readonly enabled: boolean;
  /**
   * A span continuing the first carrier that holds a valid trace context (a client's), or starting
   * a trace; undefined when tracing is off.
   */
  start(name: string, kind: SpanKindName, carriers: readonly (TraceCarrier | undefined)[], attributes?: Attributes): TraceSpan | undefined;
  /** Exports what is queued (bounded by the export timeout). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** The service name unless OTEL_SERVICE_NAME sets one. */
  serviceName: string;
  serviceVersion: string;
  /** The ratio of new traces to sample (parent-based); undefined: OTEL_TRACES_SAMPLER decides. Read per trace. */
  samplingRatio: () => number | undefined;
  /** Spans that were ended sampled but never reached the collector (export failed, queue full). */
  onDropped: (spans: number) => void;
  /** Export errors (the first of a run of failures), for the operational log. */
  onExportError?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
}

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
