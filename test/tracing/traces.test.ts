// Traces into a real OpenTelemetry Collector (built from the Go module proxy; OTLP receiver, file
// exporter): a real sidecar process with --tracing otlp, a recording upstream double, and the spans
// read back from what the collector wrote. An allowed, a denied, a rate-limited and an approved call;
// a client's traceparent continuing the trace (header and _meta); the upstream receiving the
// sidecar's context in both places; trace ids as exemplars on /metrics (OpenMetrics), ingested by a
// real Prometheus with exemplar storage; and with the
// collector stopped, calls still answered and the lost spans counted.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { outcomeOf } from "../support/mcp-clients.ts";
import { messagesOf, rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { KEYS } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { sidecarFiles, startSidecarProcess, type SidecarProcess } from "../support/sidecar-process.ts";
import { startCollector, type ReceivedSpan, type RunningCollector } from "./otel-collector.ts";
import { startRecordingUpstream, type RecordingUpstream } from "./recording-upstream.ts";
import { eventually } from "../support/eventually.ts";

const POLICY = mcpPolicy(`
default: deny
tools:
  - name: list_flows
  - name: delete_flow
    action: deny
  - name: search
    limits: [{window: minute, max: 1}]
  - name: execute_flow
    action: approve
    approval: {via: elicitation, timeout: 30s}`);

const SERVER = 2;
const CLIENT = 3;
const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

describe("OpenTelemetry traces into a real collector", { timeout: 180_000 }, () => {
  let collector: RunningCollector;
  let upstream: RecordingUpstream;
  let sidecar: SidecarProcess;
  let session: string;
  const alice = { authorization: `Bearer ${KEYS.alice}` };
  let nextId = 1;
  const call = async (tool: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) => {
    const answer = await rawPost(sidecar.url, toolCall(nextId++, tool, {}, extra), {
      ...alice,
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-03-26",
      ...headers,
    });
    assert.equal(answer.status, 200, answer.text);
    return messagesOf(answer)[0] as { result?: { isError?: boolean; content: { text: string }[] } };
  };
  /** The spans of the trace whose server span is for `tool`, once the collector has them all. */
  const traceOf = async (tool: string, nth = 0, children = 1) => {
    let server: ReceivedSpan | undefined;
    const spans = await collector.waitFor(
      (all) => {
        server = all.filter((s) => s.kind === SERVER && s.name === `tools/call ${tool}`)[nth];
        return server !== undefined && all.filter((s) => s.parentSpanId === server?.spanId).length >= children;
      },
      `the spans of call ${nth + 1} of ${tool}`,
    );
    const root = server as ReceivedSpan;
    return {
      server: root,
      children: spans.filter((s) => s.parentSpanId === root.spanId),
      all: spans.filter((s) => s.traceId === root.traceId),
    };
  };

  before(async () => {
    collector = await startCollector();
    upstream = await startRecordingUpstream();
    const files = sidecarFiles(POLICY);
    sidecar = await startSidecarProcess({
      policy: files.policy,
      apiKeys: files.apiKeys,
      upstream: upstream.url,
      args: ["--tracing", "otlp"],
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_EXPORTER_OTLP_TIMEOUT: "1000",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test",
      },
    });
    session = await rawInitialize(sidecar.url, alice);
  });
  after(async () => {
    await sidecar?.stop();
    await upstream?.close();
    await collector?.stop();
  });

  it("an allowed call: server, decision and upstream client spans; the upstream receives the client span's context in the header and in _meta", async () => {
    const answer = await call("list_flows");
    assert.equal(answer.result?.content[0]?.text, "called list_flows");
    const { server, children, all } = await traceOf("list_flows", 0, 2);
    assert.equal(server.service, "mcp-warden-sidecar");
    assert.equal(server.parentSpanId, "", "no client context: the sidecar starts the trace");
    assert.deepEqual(
      [
        server.attributes["mcp.method.name"],
        server.attributes["gen_ai.tool.name"],
        server.attributes["gen_ai.operation.name"],
        server.attributes["mcp_warden.caller.grant"],
        server.attributes["http.response.status_code"],
      ],
      ["tools/call", "list_flows", "execute_tool", "apikey:alice", 200],
    );
    assert.match(
      String(server.attributes["mcp.session.id"]),
      /^[0-9a-f]{16}$/,
      "the session's fingerprint, never the session id",
    );
    assert.notEqual(server.attributes["mcp.session.id"], session);
    const decision = children.find((s) => s.name === "mcp_warden.policy.decision");
    assert.deepEqual(
      [
        decision?.attributes["mcp_warden.decision"],
        decision?.attributes["mcp_warden.decision.reason"],
        decision?.attributes["mcp_warden.policy.rule"],
        decision?.attributes["mcp_warden.policy.name"],
        decision?.attributes["mcp_warden.policy.version"],
      ],
      ["allowed", "rule_allowed", "/spec/tools/0", "agents/kestra", "1"],
    );
    const client = children.find((s) => s.kind === CLIENT);
    assert.equal(client?.name, "tools/call list_flows");
    assert.equal(client?.attributes["http.response.status_code"], 200);
    // What the upstream got: the sidecar's client span as its parent, in both places.
    const received = upstream.calls("list_flows").at(-1);
    const header = TRACEPARENT.exec(String(received?.headers.traceparent));
    const meta = TRACEPARENT.exec(String(received?.message.params?._meta?.traceparent));
    assert.deepEqual([header?.[1], header?.[2]], [server.traceId, client?.spanId]);
    assert.deepEqual([meta?.[1], meta?.[2]], [server.traceId, client?.spanId]);
    // The audit line names the trace.
    await eventually(
      () => sidecar.auditLines.some((l) => l.tool === "list_flows" && l.traceId === server.traceId),
      "the audit line of the call, with its trace id",
    );
    // Never arguments or tokens.
    for (const span of all)
      for (const value of Object.values(span.attributes)) assert.ok(!String(value).includes(KEYS.alice));
  });

  it("a denied call: the decision span says why, and nothing goes upstream", async () => {
    const answer = await call("delete_flow");
    assert.equal(outcomeOf(answer.result), "denied");
    const { children } = await traceOf("delete_flow");
    const decision = children.find((s) => s.name === "mcp_warden.policy.decision");
    assert.deepEqual(
      [
        decision?.attributes["mcp_warden.decision"],
        decision?.attributes["mcp_warden.policy.rule"],
        decision?.attributes["mcp_warden.forwarded"],
      ],
      ["denied", "/spec/tools/1", false],
    );
    assert.equal(children.filter((s) => s.kind === CLIENT).length, 0);
    assert.equal(upstream.calls("delete_flow").length, 0);
  });

  it("a rate-limited call: the decision span carries the rate-limit store's time", async () => {
    assert.equal(outcomeOf((await call("search")).result), "allowed");
    assert.equal(outcomeOf((await call("search")).result), "rate_limited");
    const second = await traceOf("search", 1);
    const decision = second.children.find((s) => s.name === "mcp_warden.policy.decision");
    assert.equal(decision?.attributes["mcp_warden.decision"], "rate_limited");
    assert.equal(decision?.attributes["mcp_warden.rate_limit.store"], "memory");
    assert.equal(typeof decision?.attributes["mcp_warden.rate_limit.store_duration_seconds"], "number");
    assert.ok(Number(decision?.attributes["mcp_warden.rate_limit.retry_after_seconds"]) > 0);
    assert.equal(upstream.calls("search").length, 1);
  });

  it("continues a client's trace from the traceparent header, and from params._meta (which wins)", async () => {
    const [traceA, parentA] = [hex(16), hex(8)];
    await call("list_flows", { traceparent: `00-${traceA}-${parentA}-01` });
    const fromHeader = await traceOf("list_flows", 1, 2);
    assert.deepEqual([fromHeader.server.traceId, fromHeader.server.parentSpanId], [traceA, parentA]);
    const [traceB, parentB] = [hex(16), hex(8)];
    await call(
      "list_flows",
      { traceparent: `00-${hex(16)}-${hex(8)}-01` },
      { _meta: { traceparent: `00-${traceB}-${parentB}-01` } },
    );
    const fromMeta = await traceOf("list_flows", 2, 2);
    assert.deepEqual([fromMeta.server.traceId, fromMeta.server.parentSpanId], [traceB, parentB]);
    // The upstream's parent is the sidecar's span, not the client's.
    const received = upstream.calls("list_flows").at(-1);
    const client = fromMeta.children.find((s) => s.kind === CLIENT);
    assert.equal(received?.message.params?._meta?.traceparent, `00-${traceB}-${client?.spanId}-01`);
  });

  it("an approved call: the approval wait is a span of its own, then the upstream call", async () => {
    const agent = new Client({ name: "traced-agent", version: "1.0.0" }, { capabilities: { elicitation: {} } });
    agent.setRequestHandler(ElicitRequestSchema, () =>
      Promise.resolve({ action: "accept", content: { approve: true } }),
    );
    await agent.connect(new StreamableHTTPClientTransport(new URL(sidecar.url), { requestInit: { headers: alice } }));
    try {
      const result = await agent.callTool({
        name: "execute_flow",
        arguments: { namespace: "company.team", flow_id: "traced" },
      });
      assert.equal(outcomeOf(result), "allowed", JSON.stringify(result));
    } finally {
      await agent.close();
    }
    const { children } = await traceOf("execute_flow", 0, 3);
    const decision = children.find((s) => s.name === "mcp_warden.policy.decision");
    assert.deepEqual(
      [decision?.attributes["mcp_warden.decision"], decision?.attributes["mcp_warden.approval.required"]],
      ["approval_required", true],
    );
    const wait = children.find((s) => s.name === "mcp_warden.approval.wait");
    assert.deepEqual(
      [
        wait?.attributes["mcp_warden.decision"],
        wait?.attributes["mcp_warden.decision.reason"],
        wait?.attributes["mcp_warden.approval.via"],
      ],
      ["allowed", "approved", "Elicitation"],
    );
    assert.equal(children.filter((s) => s.kind === CLIENT).length, 1);
    assert.equal(upstream.calls("execute_flow").length, 1);
  });

  it("exemplars: OpenMetrics (when asked) carries the trace id of an exported span; Prometheus text stays the default", async () => {
    const { server } = await traceOf("list_flows", 0, 2);
    const plain = await fetch(`${sidecar.adminUrl}/metrics`);
    assert.match(String(plain.headers.get("content-type")), /^text\/plain; version=0\.0\.4/);
    const plainText = await plain.text();
    assert.doesNotMatch(plainText, /# \{trace_id=/);
    assert.match(plainText, /^mcp_warden_tool_calls_total\{/m, "Prometheus text keeps the counters' names");
    const open = await fetch(`${sidecar.adminUrl}/metrics`, {
      headers: { accept: "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2" },
    });
    assert.match(String(open.headers.get("content-type")), /^application\/openmetrics-text; version=1\.0\.0/);
    const text = await open.text();
    assert.match(text, /# EOF\n$/);
    const exemplars = [
      ...text.matchAll(
        /^mcp_warden_(tool_call|upstream)_duration_seconds_bucket\{[^}]*\} \d+ # \{trace_id="([0-9a-f]{32})"\}/gm,
      ),
    ].map((m) => m[2]);
    const exported = new Set(collector.spans().map((s) => s.traceId));
    assert.ok(exemplars.length > 0, "the histograms carry exemplars");
    for (const id of exemplars)
      assert.ok(exported.has(id as string), `exemplar ${id} names a trace the collector received`);
    assert.ok(exported.has(server.traceId));
  });

  it("Prometheus (exemplar storage on) scrapes OpenMetrics and ingests the exemplars: Grafana's link from a latency bucket to its trace", async () => {
    const admin = new URL(sidecar.adminUrl);
    const prometheus = await startPrometheus({
      config: {
        global: { scrape_interval: "1s" },
        scrape_configs: [{ job_name: "sidecar", static_configs: [{ targets: [admin.host] }] }],
      },
      flags: ["--enable-feature=exemplar-storage"],
    });
    try {
      await call("list_flows");
      const exported = new Set(collector.spans().map((s) => s.traceId));
      let ingested: string[] = [];
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const now = Date.now() / 1000;
        const query = encodeURIComponent("mcp_warden_tool_call_duration_seconds_bucket");
        const body = (await (
          await fetch(`${prometheus.url}/api/v1/query_exemplars?query=${query}&start=${now - 600}&end=${now + 60}`)
        ).json()) as { data?: { exemplars: { labels: { trace_id?: string } }[] }[] };
        ingested = (body.data ?? []).flatMap((series) => series.exemplars.map((e) => e.labels.trace_id ?? ""));
        if (ingested.some((id) => exported.has(id))) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(
        ingested.some((id) => exported.has(id)),
        `Prometheus holds exemplars naming exported traces (got ${ingested.join(", ") || "none"}):\n${prometheus.log().slice(-2000)}`,
      );
    } finally {
      await prometheus.stop();
    }
  });

  it("with the collector stopped, calls go on and the lost spans are counted", async () => {
    assert.equal(await sidecar.metricSum("mcp_warden_spans_dropped_total"), 0);
    await collector.stop();
    for (let i = 0; i < 5; i++) assert.equal((await call("list_flows")).result?.content[0]?.text, "called list_flows");
    const deadline = Date.now() + 20_000;
    while ((await sidecar.metricSum("mcp_warden_spans_dropped_total")) < 15 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    // Five calls of three spans each (request, decision, upstream call), none of them exported.
    assert.ok((await sidecar.metricSum("mcp_warden_spans_dropped_total")) >= 15);
  });
});
