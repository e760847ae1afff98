// Every OTLP protocol the exporter offers reaches the real collector: http/protobuf (the default),
// http/json and gRPC, each chosen by OTEL_EXPORTER_OTLP_PROTOCOL as in any OpenTelemetry SDK.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTracing } from "../../telemetry/tracing.ts";
import { startCollector, type RunningCollector } from "./otel-collector.ts";

describe("OTLP protocols into a real collector", { timeout: 60_000 }, () => {
  let collector: RunningCollector;
  before(async () => {
    collector = await startCollector();
  });
  after(async () => {
    await collector?.stop();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
  });

  for (const protocol of ["http/protobuf", "http/json", "grpc"] as const) {
    it(`${protocol}: a span and its attributes arrive`, async () => {
      // The exporters read their endpoint and protocol from the environment, as in a Deployment.
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = protocol === "grpc" ? collector.grpcEndpoint : collector.endpoint;
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = protocol;
      let dropped = 0;
      const tracing = await startTracing("otlp", {
        serviceName: `protocol-${protocol}`,
        serviceVersion: "t",
        samplingRatio: () => 1,
        onDropped: (n) => (dropped += n),
      });
      tracing
        .start("tools/call list_flows", "server", [], {
          "mcp.method.name": "tools/call",
          "mcp_warden.batch.size": 2,
          "mcp_warden.forwarded": true,
        })
        ?.end();
      await tracing.shutdown();
      const spans = await collector.waitFor(
        (all) => all.some((s) => s.service === `protocol-${protocol}`),
        `the span sent over ${protocol}`,
      );
      const span = spans.find((s) => s.service === `protocol-${protocol}`);
      assert.deepEqual(
        [
          span?.name,
          span?.kind,
          span?.attributes["mcp.method.name"],
          span?.attributes["mcp_warden.batch.size"],
          span?.attributes["mcp_warden.forwarded"],
        ],
        ["tools/call list_flows", 2, "tools/call", 2, true],
      );
      assert.equal(dropped, 0);
    });
  }
});
