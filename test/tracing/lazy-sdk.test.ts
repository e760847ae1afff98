// Tracing off (the default) loads none of the OpenTelemetry SDK's modules (only the API, which
// prom-client has always loaded): the sidecar's memory stays what it was. The same probe with --tracing otlp does load the SDK, so the test cannot pass by accident.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";

const PROBE = new URL("./module-probe.ts", import.meta.url).pathname;

async function probe(tracing: "off" | "otlp"): Promise<{ status: number; text: string; loaded: string[] }> {
  const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", OTEL_EXPORTER_OTLP_TIMEOUT: "500" };
  const { stdout } = await promisify(execFile)(process.execPath, [PROBE, tracing], { timeout: 60_000, env });
  // The audit lines come first; the probe's report is the last line.
  return JSON.parse(stdout.trim().split("\n").at(-1) as string) as { status: number; text: string; loaded: string[] };
}

describe("the OpenTelemetry SDK is loaded only when tracing is on", { timeout: 120_000 }, () => {
  it("with tracing off, a served call loads no @opentelemetry module but the API", async () => {
    const { status, text, loaded } = await probe("off");
    assert.equal(status, 200, text);
    assert.match(text, /called list_flows/);
    assert.deepEqual(
      loaded.filter((url) => url.includes("/@opentelemetry/") && !url.includes("/@opentelemetry/api/")),
      [],
    );
  });

  it("with --tracing otlp, the SDK and the exporter of the protocol asked for are loaded, and no other", async () => {
    const { status, loaded } = await probe("otlp");
    assert.equal(status, 200);
    for (const pkg of ["@opentelemetry/sdk-trace/", "@opentelemetry/exporter-trace-otlp-proto/"])
      assert.ok(
        loaded.some((url) => url.includes(pkg)),
        `${pkg} loaded`,
      );
    for (const pkg of [
      "@opentelemetry/exporter-trace-otlp-grpc/",
      "/@grpc/grpc-js/",
      "@opentelemetry/exporter-trace-otlp-http/",
    ])
      assert.ok(!loaded.some((url) => url.includes(pkg)), `${pkg} not loaded`);
  });
});
