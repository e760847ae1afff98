// What a span and a tracing are to the rest of the code, with no OpenTelemetry in sight: the
// handles tracing.ts gives out and otel-sdk.ts implements. Both import this file, so neither imports
// the other's module statically (tracing.ts loads otel-sdk.ts only when tracing is turned on).

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
  start(
    name: string,
    kind: SpanKindName,
    carriers: readonly (TraceCarrier | undefined)[],
    attributes?: Attributes,
  ): TraceSpan | undefined;
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
