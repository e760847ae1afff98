// The tracing settings that are read, not exported: the OTEL_* variables the sidecar reads itself
// (bad values are errors naming the variable), the sampling flags, and which Accept headers get
// OpenMetrics (with exemplars) rather than Prometheus text.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseSidecarConfig } from "../../sidecar/config.ts";
import { prefersOpenMetrics } from "../../sidecar/observability/open-metrics.ts";
import { batchFromEnv, exportProtocol, samplerFromEnv, TracingConfigError } from "../../telemetry/tracing-env.ts";
import { startTracing, TRACING_OFF } from "../../telemetry/tracing.ts";

describe("tracing settings", () => {
  it("reads the standard samplers, parent-based or not, with their ratio", () => {
    assert.deepEqual(samplerFromEnv({}), { parentBased: true, ratio: 1 });
    assert.deepEqual(
      samplerFromEnv({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" }),
      { parentBased: true, ratio: 0.25 },
    );
    assert.deepEqual(samplerFromEnv({ OTEL_TRACES_SAMPLER: "always_off" }), { parentBased: false, ratio: 0 });
    assert.throws(
      () => samplerFromEnv({ OTEL_TRACES_SAMPLER: "sometimes" }),
      (e: Error) => e instanceof TracingConfigError && /OTEL_TRACES_SAMPLER must be one of/.test(e.message),
    );
    assert.throws(
      () => samplerFromEnv({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" }),
      /OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "2"/,
    );
  });

  it("reads the batch processor's variables, refusing values it cannot use", () => {
    assert.deepEqual(batchFromEnv({}), {
      scheduledDelayMillis: 5000,
      exportTimeoutMillis: 30000,
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
    });
    assert.equal(batchFromEnv({ OTEL_BSP_SCHEDULE_DELAY: "100" }).scheduledDelayMillis, 100);
    assert.throws(
      () => batchFromEnv({ OTEL_BSP_MAX_QUEUE_SIZE: "ten" }),
      /OTEL_BSP_MAX_QUEUE_SIZE must be an integer ≥ 1, got "ten"/,
    );
    assert.throws(
      () => batchFromEnv({ OTEL_BSP_MAX_QUEUE_SIZE: "10", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "20" }),
      /must not exceed OTEL_BSP_MAX_QUEUE_SIZE/,
    );
  });

  it("exports OTLP: http/protobuf unless OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL says http/json or grpc", () => {
    assert.equal(exportProtocol({}), "http/protobuf");
    assert.equal(exportProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }), "grpc");
    assert.equal(
      exportProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json" }),
      "http/json",
    );
    assert.throws(
      () => exportProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/xml" }),
      /OTEL_EXPORTER_OTLP_PROTOCOL must be one of http\/protobuf, http\/json, grpc, got "http\/xml"/,
    );
    assert.throws(
      () => exportProtocol({ OTEL_TRACES_EXPORTER: "zipkin" }),
      /OTEL_TRACES_EXPORTER "zipkin" is not supported/,
    );
  });

  it("is off unless asked for, and OTEL_SDK_DISABLED wins", async () => {
    const options = {
      serviceName: "t",
      serviceVersion: "t",
      samplingRatio: () => undefined,
      onDropped: () => undefined,
    };
    assert.equal(await startTracing("off", options), TRACING_OFF);
    assert.equal(await startTracing("otlp", { ...options, env: { OTEL_SDK_DISABLED: "true" } }), TRACING_OFF);
    await assert.rejects(
      startTracing("otlp", { ...options, env: { OTEL_TRACES_SAMPLER: "sometimes" } }),
      /OTEL_TRACES_SAMPLER/,
    );
  });

  it("the sidecar's flags: --tracing off|otlp and a sampling ratio from 0 to 1", () => {
    const base = ["--policy", "p.yaml"];
    assert.deepEqual(
      [parseSidecarConfig(base, {}).tracing, parseSidecarConfig(base, {}).traceSamplingRatio],
      ["off", undefined],
    );
    const on = parseSidecarConfig([...base, "--tracing", "otlp"], { MCP_WARDEN_TRACE_SAMPLING_RATIO: "0.01" });
    assert.deepEqual([on.tracing, on.traceSamplingRatio], ["otlp", 0.01]);
    assert.throws(
      () => parseSidecarConfig([...base, "--tracing", "jaeger"], {}),
      (e: Error) => e instanceof ConfigError && /--tracing must be one of off, otlp/.test(e.message),
    );
    assert.throws(
      () => parseSidecarConfig([...base, "--trace-sampling-ratio", "1.5"], {}),
      /--trace-sampling-ratio must be a number from 0 to 1/,
    );
  });

  it("serves OpenMetrics only to a scraper that prefers it", () => {
    assert.equal(prefersOpenMetrics(undefined), false);
    assert.equal(prefersOpenMetrics("text/plain"), false);
    assert.equal(prefersOpenMetrics("*/*"), false);
    assert.equal(prefersOpenMetrics("application/openmetrics-text"), true);
    // Prometheus's own header with exemplar storage on, and without it.
    assert.equal(
      prefersOpenMetrics(
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      ),
      true,
    );
    assert.equal(prefersOpenMetrics("text/plain;version=0.0.4;q=1,*/*;q=0.1"), false);
    assert.equal(prefersOpenMetrics("application/openmetrics-text;q=0.2,text/plain;q=0.5"), false);
  });
});
