// The export queue's bound, against a real collector: spans that find the batch processor's queue
// full are dropped at once and counted (the SDK alone would drop them silently), and ending a span
// never waits for the export.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTracing, type Tracing } from "../../telemetry/tracing.ts";
import { startCollector, type RunningCollector } from "./otel-collector.ts";

describe("the export queue's bound", { timeout: 60_000 }, () => {
  let collector: RunningCollector;
  let tracing: Tracing;
  let dropped = 0;

  before(async () => {
    collector = await startCollector();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.endpoint;
    tracing = await startTracing("otlp", {
      serviceName: "queue-bound",
      serviceVersion: "t",
      samplingRatio: () => 1,
      onDropped: (n) => (dropped += n),
      env: { OTEL_BSP_MAX_QUEUE_SIZE: "2", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "2", OTEL_BSP_SCHEDULE_DELAY: "60000" },
    });
  });
  after(async () => {
    await tracing?.shutdown();
    await collector?.stop();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  });

  it("a full queue drops and counts the spans beyond it; the others reach the collector", async () => {
    // Synchronous: ending a span only queues it (or drops it), nothing waits for the collector.
    for (let i = 0; i < 5; i++) tracing.start(`span ${i}`, "internal", [])?.end();
    assert.equal(dropped, 3, "two fill the queue (and go out as one batch); three find it full");
    await tracing.flush();
    const spans = await collector.waitFor(
      (all) => all.filter((s) => s.service === "queue-bound").length >= 2,
      "the two queued spans",
    );
    assert.deepEqual(
      spans
        .filter((s) => s.service === "queue-bound")
        .map((s) => s.name)
        .sort(),
      ["span 0", "span 1"],
    );
    // Once the batch is out, the queue takes spans again.
    tracing.start("span after", "internal", [])?.end();
    await tracing.flush();
    await collector.waitFor((all) => all.some((s) => s.name === "span after"), "the span sent after the queue drained");
    assert.equal(dropped, 3);
  });
});
