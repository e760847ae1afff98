// Tracing with the OpenTelemetry JS SDK, loaded only when tracing is on (tracing.ts). Spans go to a
// batch span processor and from there, as OTLP (HTTP with protobuf or JSON, or gRPC), to the
// collector the OTEL_EXPORTER_OTLP_* variables name. Export never blocks a call: ending a span only
// queues it, and a collector that is down or slow costs spans, counted by `onDropped`, never calls.
// The sampler is parent-based: a client's sampled trace context continues, and new traces are
// sampled at a ratio read per trace (the policy or a flag may change it at any time).
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  trace,
  type Attributes as OtelAttributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from "@opentelemetry/core";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
  type SamplingResult,
  type Span as SdkSpan,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { batchFromEnv, exportProtocol, samplerFromEnv, type OtlpProtocol, type SamplerSetting } from "./tracing-env.ts";
import type { Attributes, SpanKindName, TraceCarrier, TraceSpan, Tracing, TracingOptions } from "./trace-types.ts";

const KINDS: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
};

export async function createOtlpTracing(options: TracingOptions): Promise<Tracing> {
  const env = options.env ?? process.env;
  const protocol = exportProtocol(env);
  const fallback = samplerFromEnv(env);
  const batch = batchFromEnv(env);
  const exporter = new CountingExporter(await otlpExporter(protocol), options);
  const processor = new BoundedProcessor(
    new BatchSpanProcessor({ exporter, ...batch }),
    batch.maxQueueSize,
    options.onDropped,
  );
  exporter.exported = (n) => processor.settled(n);
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: options.serviceName,
    [ATTR_SERVICE_VERSION]: options.serviceVersion,
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new TracerProvider({
    resource,
    sampler: new RatioSampler(options.samplingRatio, fallback),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer("mcp-warden", options.serviceVersion);
  const propagator = new W3CTraceContextPropagator();
  return {
    enabled: true,
    start(name, kind, carriers, attributes) {
      const parent = parentContext(propagator, carriers);
      return new OtelSpan(
        tracer,
        propagator,
        tracer.startSpan(name, { kind: KINDS[kind], attributes: clean(attributes) }, parent),
        parent,
      );
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * The OTLP exporter of the protocol asked for, imported only then (the gRPC one brings @grpc/grpc-js).
 * Each reads its endpoint, headers, timeout and compression from the OTEL_EXPORTER_OTLP_* variables.
 */
async function otlpExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  switch (protocol) {
    case "http/protobuf":
      return new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
    case "http/json":
      return new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter();
    case "grpc":
      return new (await import("@opentelemetry/exporter-trace-otlp-grpc")).OTLPTraceExporter();
  }
}

/** The first carrier holding a valid trace context, as a parent context; none: a new trace. */
function parentContext(
  propagator: W3CTraceContextPropagator,
  carriers: readonly (TraceCarrier | undefined)[],
): Context {
  for (const carrier of carriers) {
    if (typeof carrier?.traceparent !== "string") continue;
    const extracted = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    const context = trace.getSpanContext(extracted);
    if (context && isSpanContextValid(context)) return extracted;
  }
  return ROOT_CONTEXT;
}

class OtelSpan implements TraceSpan {
  private readonly tracer: Tracer;
  private readonly propagator: W3CTraceContextPropagator;
  private readonly span: Span;
  private readonly context: Context;

  constructor(tracer: Tracer, propagator: W3CTraceContextPropagator, span: Span, parent: Context) {
    this.tracer = tracer;
    this.propagator = propagator;
    this.span = span;
    this.context = trace.setSpan(parent, span);
  }

  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  get spanId(): string {
    return this.span.spanContext().spanId;
  }

  get sampled(): boolean {
    return (this.span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
  }

  setAttributes(attributes: Attributes): void {
    this.span.setAttributes(clean(attributes));
  }

  fail(errorType: string, message?: string): void {
    this.span.setAttribute("error.type", errorType);
    this.span.setStatus({ code: SpanStatusCode.ERROR, ...(message !== undefined ? { message } : {}) });
  }

  child(name: string, kind: SpanKindName, attributes?: Attributes): TraceSpan {
    return new OtelSpan(
      this.tracer,
      this.propagator,
      this.tracer.startSpan(name, { kind: KINDS[kind], attributes: clean(attributes) }, this.context),
      this.context,
    );
  }

  carrier(): TraceCarrier {
    const out: TraceCarrier = {};
    this.propagator.inject(this.context, out, defaultTextMapSetter);
    return out;
  }

  end(): void {
    this.span.end();
  }
}

function clean(attributes: Attributes | undefined): OtelAttributes {
  const out: OtelAttributes = {};
  for (const [k, v] of Object.entries(attributes ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

/** Parent-based sampling with the ratio in force when a trace starts (policy, flag, else OTEL_TRACES_SAMPLER). */
class RatioSampler implements Sampler {
  private readonly ratio: () => number | undefined;
  private readonly fallback: SamplerSetting;
  private readonly samplers = new Map<string, Sampler>();

  constructor(ratio: () => number | undefined, fallback: SamplerSetting) {
    this.ratio = ratio;
    this.fallback = fallback;
  }

  shouldSample(
    context: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: OtelAttributes,
    links: Link[],
  ): SamplingResult {
    return this.current().shouldSample(context, traceId, name, kind, attributes, links);
  }

  private current(): Sampler {
    const ratio = this.ratio();
    const setting = ratio === undefined ? this.fallback : { parentBased: true, ratio };
    const key = `${setting.parentBased}/${setting.ratio}`;
    let sampler = this.samplers.get(key);
    if (!sampler) {
      const root = new TraceIdRatioBasedSampler(setting.ratio);
      sampler = setting.parentBased ? new ParentBasedSampler({ root }) : root;
      this.samplers.set(key, sampler);
    }
    return sampler;
  }

  toString(): string {
    return "mcp-warden ratio sampler";
  }
}

/** The exporter, counting the spans of every batch that did not reach the collector. */
class CountingExporter implements SpanExporter {
  exported: (spans: number) => void = () => undefined;
  private readonly inner: SpanExporter;
  private readonly options: TracingOptions;
  private failing = false;

  constructor(inner: SpanExporter, options: TracingOptions) {
    this.inner = inner;
    this.options = options;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      this.exported(spans.length);
      if (result.code !== ExportResultCode.SUCCESS) {
        this.options.onDropped(spans.length);
        if (!this.failing) this.options.onExportError?.(result.error?.message ?? "export failed");
        this.failing = true;
      } else {
        this.failing = false;
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * The batch processor, with its queue bound made visible: a sampled span that finds the queue full
 * is counted as dropped (the SDK's processor would drop it silently).
 */
class BoundedProcessor implements SpanProcessor {
  private readonly inner: SpanProcessor;
  private readonly max: number;
  private readonly onDropped: (spans: number) => void;
  private pending = 0;

  constructor(inner: SpanProcessor, max: number, onDropped: (spans: number) => void) {
    this.inner = inner;
    this.max = max;
    this.onDropped = onDropped;
  }

  /** Spans that left the queue in an export, whatever its result. */
  settled(spans: number): void {
    this.pending = Math.max(0, this.pending - spans);
  }

  onStart(span: SdkSpan, parent: Context): void {
    this.inner.onStart(span, parent);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.pending >= this.max) {
      this.onDropped(1);
      return;
    }
    this.pending++;
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
