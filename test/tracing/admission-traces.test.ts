// The operator's admission decisions as traces in a real OpenTelemetry Collector: one server span
// per AdmissionReview with what the pod came to (inject, skip, refuse) and why, continuing the API
// server's trace when it sends a traceparent (APIServerTracing).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createOperatorMetrics } from "../../operator/metrics.ts";
import { AdmissionHandler } from "../../operator/injector/admission.ts";
import { injectorConfig } from "../../operator/injector/config.ts";
import { PolicyIndex, policyEntry } from "../../operator/policy-index.ts";
import { startTracing, type Tracing } from "../../telemetry/tracing.ts";
import { startCollector, type ReceivedSpan, type RunningCollector } from "./otel-collector.ts";

const review = (uid: string, labels: Record<string, string>) => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid,
    kind: { group: "", version: "v1", kind: "Pod" },
    operation: "CREATE",
    namespace: "agents",
    object: {
      metadata: { generateName: `${uid}-`, labels },
      spec: { containers: [{ name: "kestra", image: "ghcr.io/kestra-io/mcp-server-python:1" }] },
    },
  },
});

describe("admission decisions traced into a real collector", { timeout: 60_000 }, () => {
  let collector: RunningCollector;
  let tracing: Tracing;
  let handler: AdmissionHandler;
  let ready = true;
  const metrics = createOperatorMetrics({ version: "t", defaultMetrics: false });
  const spanOf = async (uid: string): Promise<ReceivedSpan> => {
    await tracing.flush();
    const spans = await collector.waitFor(
      (all) => all.some((s) => s.attributes["mcp_warden.admission.uid"] === uid),
      `the admission span of ${uid}`,
    );
    return spans.find((s) => s.attributes["mcp_warden.admission.uid"] === uid) as ReceivedSpan;
  };

  before(async () => {
    collector = await startCollector();
    // The exporter reads its endpoint from the environment, as in the operator's Deployment.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.endpoint;
    tracing = await startTracing("otlp", {
      serviceName: "mcp-warden-operator",
      serviceVersion: "t",
      samplingRatio: () => undefined,
      onDropped: (n) => metrics.spansDropped.inc(n),
    });
    const index = new PolicyIndex();
    for (const name of ["a", "b"])
      index.set(
        policyEntry({
          metadata: { name, namespace: "agents" },
          spec: { podSelector: { matchLabels: { shared: "yes" } }, upstream: { port: 8000 } },
        }),
      );
    index.set(
      policyEntry({
        metadata: { name: "k", namespace: "agents" },
        spec: { podSelector: { matchLabels: { app: "k" } }, upstream: { profile: "kestra" } },
      }),
    );
    handler = new AdmissionHandler({
      index,
      config: injectorConfig({ sidecarImage: "img", operatorNamespace: "mcp-warden" }),
      ready: () => ready,
      metrics,
      tracing,
    });
  });
  after(async () => {
    await tracing?.shutdown();
    await collector?.stop();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  });

  it("inject: the pod a policy selects gets the sidecar, and the span names the policy", async () => {
    handler.review(review("injected", { app: "k" }));
    const span = await spanOf("injected");
    assert.equal(span.service, "mcp-warden-operator");
    assert.equal(span.kind, 2);
    assert.deepEqual(
      [
        span.attributes["mcp_warden.admission.decision"],
        span.attributes["mcp_warden.admission.reason"],
        span.attributes["mcp_warden.policy.name"],
        span.attributes["k8s.namespace.name"],
        span.attributes["k8s.pod.name"],
      ],
      ["inject", "injected", "agents/k", "agents", "injected-*"],
    );
  });

  it("skip: a pod no policy selects is admitted as it is", async () => {
    handler.review(review("skipped", { app: "other" }));
    const span = await spanOf("skipped");
    assert.deepEqual(
      [span.attributes["mcp_warden.admission.decision"], span.attributes["mcp_warden.admission.reason"]],
      ["skip", "not_selected"],
    );
  });

  it("refuse: conflicting policies, and a replica whose cache is not synced, each with its reason", async () => {
    handler.review(review("conflict", { shared: "yes" }));
    const conflict = await spanOf("conflict");
    assert.deepEqual(
      [conflict.attributes["mcp_warden.admission.decision"], conflict.attributes["mcp_warden.admission.reason"]],
      ["refuse", "conflicting_policies"],
    );
    ready = false;
    handler.review(review("starting", { app: "k" }));
    ready = true;
    const starting = await spanOf("starting");
    assert.deepEqual(
      [
        starting.attributes["mcp_warden.admission.decision"],
        starting.attributes["mcp_warden.admission.reason"],
        starting.status.code,
      ],
      ["refuse", "not_ready", 2],
    );
  });

  it("with a collector for sidecars (the chart's tracing.otlpEndpoint), injected sidecars export their traces to it", () => {
    const index = new PolicyIndex();
    index.set(
      policyEntry({
        metadata: { name: "k", namespace: "agents" },
        spec: { podSelector: { matchLabels: { app: "k" } }, upstream: { profile: "kestra" } },
      }),
    );
    const envOf = (config: ReturnType<typeof injectorConfig>) => {
      const answer = new AdmissionHandler({ index, config, ready: () => true, metrics }).review(
        review("env", { app: "k" }),
      );
      const patch = JSON.parse(
        Buffer.from((answer.body as { response: { patch: string } }).response.patch, "base64").toString("utf8"),
      ) as { value?: unknown }[];
      type Container = { name?: string; env?: { name: string; value?: string }[] };
      const sidecar = patch
        .flatMap((op) => (Array.isArray(op.value) ? (op.value as Container[]) : [op.value as Container]))
        .find((v) => v?.name === "mcp-warden");
      return Object.fromEntries((sidecar?.env ?? []).map((e) => [e.name, e.value]));
    };
    const traced = envOf(
      injectorConfig({ sidecarImage: "img", operatorNamespace: "mcp-warden", otlpEndpoint: "http://collector:4318" }),
    );
    assert.deepEqual(
      [traced.MCP_WARDEN_TRACING, traced.OTEL_EXPORTER_OTLP_ENDPOINT],
      ["otlp", "http://collector:4318"],
    );
    const plain = envOf(injectorConfig({ sidecarImage: "img", operatorNamespace: "mcp-warden" }));
    assert.ok(
      plain.MCP_WARDEN_POLICY !== undefined && plain.MCP_WARDEN_TRACING === undefined,
      "tracing stays off unless asked for",
    );
  });

  it("continues the API server's trace from its traceparent", async () => {
    const [trace, parent] = [randomBytes(16).toString("hex"), randomBytes(8).toString("hex")];
    handler.review(review("traced", { app: "k" }), { traceparent: `00-${trace}-${parent}-01` });
    const span = await spanOf("traced");
    assert.deepEqual([span.traceId, span.parentSpanId], [trace, parent]);
    assert.equal(
      await metrics.registry
        .getSingleMetricAsString("mcp_warden_spans_dropped_total")
        .then((t) => /mcp_warden_spans_dropped_total 0/.test(t)),
      true,
    );
  });
});
