// MCP 2026-07-28 beyond tools, SDK v2 server ↔ sidecar: resources and prompts decided and judged by what
// the server ran; lists the sidecar filtered become cacheScope private (SEP-2549) with their order
// kept; the answer to a retry carrying inputResponses is never cacheable; an input_required answer is
// never counted as a success; trace context (traceparent, tracestate, baggage) in headers and `_meta`
// reaches the upstream unchanged.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { startTap, type Tap } from "../differential/tap.ts";
import { messagesOf, rawPost } from "../support/raw-mcp.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startV2Server, type V2Server } from "../upstreams/sdk-v2-server.ts";
import { eventually } from "../support/eventually.ts";

const MODERN = "2026-07-28";
const POLICY = mcpPolicy(`
default: allow
hide: [wipe]
resources:
  default: allow
  rules:
    - uri: "kb://secret/*"
      action: deny
    - uri: "kb://internal/*"
      action: hide
    - uri: "kb://public/*"
      limits: [{window: minute, max: 2}]
prompts:
  default: deny
  rules:
    - name: summarise
    - name: internal-*
      action: hide
`);
const meta = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } },
};
const modern = (id: number, method: string, params: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id,
  method,
  params: { ...params, _meta: { ...meta, ...(params._meta as object | undefined) } },
});
const headersFor = (method: string, key?: string): Record<string, string> => ({
  "mcp-protocol-version": MODERN,
  "mcp-method": method,
  ...(key ? { authorization: `Bearer ${key}` } : {}),
});
type Result = Record<string, unknown>;
const resultOf = (answer: { headers: Record<string, unknown>; text: string }): Result =>
  (messagesOf(answer as never)[0] as { result: Result }).result;

describe(
  "MCP 2026-07-28 resources, prompts, caching and trace context through the sidecar",
  { timeout: 60_000 },
  () => {
    let server: V2Server;
    let tap: Tap;
    let proxy: ProxyHarness;
    const both = async (method: string, params: Record<string, unknown> = {}) => {
      const name: Record<string, string> = typeof params.uri === "string" ? { "mcp-name": params.uri } : {};
      const direct = resultOf(await rawPost(server.url, modern(1, method, params), { ...headersFor(method), ...name }));
      const proxied = resultOf(
        await rawPost(proxy.sidecar.url, modern(1, method, params), { ...headersFor(method, KEYS.alice), ...name }),
      );
      return { direct, proxied };
    };
    before(async () => {
      server = await startV2Server("json");
      tap = await startTap(server.url, join(mkdtempSync(join(tmpdir(), "mcp-warden-tap-")), "tap.log"));
      proxy = await startProxy(tap.url, { policy: POLICY });
    });
    after(async () => {
      await proxy?.close();
      await tap?.close();
      await server?.close();
    });

    it("a v2 client: reads and prompts allowed, denied and hidden, judged by what the server ran", async () => {
      const client = new Client(
        { name: "v2-agent", version: "1.0.0" },
        { capabilities: {}, versionNegotiation: { mode: { pin: MODERN } } },
      );
      await client.connect(
        new StreamableHTTPClientTransport(new URL(proxy.sidecar.url), {
          requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } },
        }),
      );
      const ran = server.calls.length;
      const outcome = (p: Promise<unknown>) =>
        p.then(
          () => "allowed",
          (err: { code?: number }) =>
            err.code === -32010
              ? "denied"
              : err.code === -32002 || err.code === -32602
                ? "hidden"
                : `error ${err.code}`,
        );
      assert.deepEqual(
        [
          await outcome(client.readResource({ uri: "kb://public/readme" })),
          await outcome(client.readResource({ uri: "kb://secret/keys" })),
          await outcome(client.readResource({ uri: "kb://internal/plan" })),
          await outcome(client.getPrompt({ name: "summarise", arguments: { topic: "x" } })),
          await outcome(client.getPrompt({ name: "exfiltrate", arguments: { topic: "x" } })),
          await outcome(client.getPrompt({ name: "internal-debug", arguments: { topic: "x" } })),
        ],
        ["allowed", "denied", "hidden", "allowed", "denied", "hidden"],
      );
      assert.deepEqual(server.calls.slice(ran), ["read:kb://public/readme", "prompt:summarise"]);
      await client.close();
    });

    it("resources limits: a caller's third read in a minute is refused with -32011 and never reaches the server", async () => {
      const read = async () => {
        const answer = await rawPost(proxy.sidecar.url, modern(4, "resources/read", { uri: "kb://public/readme" }), {
          ...headersFor("resources/read", KEYS.bob),
          "mcp-name": "kb://public/readme",
        });
        return messagesOf(answer)[0] as {
          result?: unknown;
          error?: { code: number; message: string; data: Record<string, { retryAfterSeconds?: number }> };
        };
      };
      const ran = server.calls.length;
      const answers = [await read(), await read(), await read()];
      assert.deepEqual(
        answers.map((a) => (a.error ? a.error.code : "ok")),
        ["ok", "ok", -32011],
      );
      assert.match(answers[2]?.error?.message ?? "", /^\[RATE LIMITED\]/);
      assert.ok((answers[2]?.error?.data["mcpwarden.io/decision"]?.retryAfterSeconds ?? 0) >= 1);
      assert.deepEqual(server.calls.slice(ran), ["read:kb://public/readme", "read:kb://public/readme"]);
    });

    it("filtered lists become cacheScope private, keep ttlMs and the server's order; unfiltered answers are untouched", async () => {
      for (const [method, field, key, hidden] of [
        ["tools/list", "tools", "name", "wipe"],
        ["resources/list", "resources", "uri", "kb://internal/plan"],
        ["prompts/list", "prompts", "name", "internal-debug"],
      ] as const) {
        const { direct, proxied } = await both(method);
        assert.equal(direct.cacheScope, "public", method);
        assert.equal(proxied.cacheScope, "private", method);
        assert.equal(proxied.ttlMs, direct.ttlMs, method);
        const names = (r: Result) => (r[field] as Record<string, string>[]).map((e) => e[key]);
        assert.ok(names(direct).includes(hidden), method);
        assert.deepEqual(
          names(proxied),
          names(direct).filter((n) => n !== hidden),
          method,
        );
      }
    });

    it("a read the policy decided is cacheScope private: its rules may depend on the caller", async () => {
      const read = modern(1, "resources/read", { uri: "kb://public/readme" });
      const headers = { ...headersFor("resources/read"), "mcp-name": "kb://public/readme" };
      const direct = resultOf(await rawPost(server.url, read, headers));
      const answer = await rawPost(proxy.sidecar.url, read, { ...headers, authorization: `Bearer ${KEYS.alice}` });
      const proxied = resultOf(answer);
      assert.ok(proxied, answer.text);
      assert.deepEqual([direct.cacheScope, proxied.cacheScope, proxied.ttlMs], ["public", "private", direct.ttlMs]);
      assert.deepEqual(proxied.contents, direct.contents);
    });

    it("the answer to a retry carrying inputResponses is never cacheable; input_required is never a success", async () => {
      const first = await both("resources/read", { uri: "kb://confirmed" });
      assert.equal(first.proxied.resultType, "input_required");
      const retry = {
        uri: "kb://confirmed",
        inputResponses: { confirm: { action: "accept", content: { confirm: true } } },
      };
      const { direct, proxied } = await both("resources/read", retry);
      assert.deepEqual([direct.cacheScope, direct.ttlMs], ["public", 60_000]);
      assert.deepEqual([proxied.cacheScope, proxied.ttlMs], ["private", 0]);
      assert.deepEqual(proxied.contents, direct.contents);
      await eventually(
        () => proxy.logs.auditLines.filter((l) => l.uri === "kb://confirmed").length >= 2,
        "audit lines of the read",
      );
      const lines = proxy.logs.auditLines.filter((l) => l.uri === "kb://confirmed");
      assert.deepEqual(
        lines.map((l) => [l.upstreamOutcome, l.succeeded]),
        [
          ["input_required", false],
          ["ok", true],
        ],
      );
    });

    it("subscriptions/listen may only subscribe to resources the caller may read", async () => {
      const listen = (uris: string[]) =>
        modern(3, "subscriptions/listen", { notifications: { resourceSubscriptions: uris, toolsListChanged: true } });
      const headers = headersFor("subscriptions/listen", KEYS.alice);
      for (const [uri, code] of [
        ["kb://secret/keys", -32010],
        ["kb://internal/plan", -32002],
      ] as const) {
        const refused = await rawPost(proxy.sidecar.url, listen(["kb://public/readme", uri]), headers);
        assert.equal((messagesOf(refused)[0] as { error: { code: number } }).error.code, code, uri);
      }
      // An allowed subscription reaches the server, which opens its stream with an acknowledgement.
      const controller = new AbortController();
      const res = await request(proxy.sidecar.url, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify(listen(["kb://public/readme"])),
        signal: controller.signal,
      });
      let text = "";
      for await (const chunk of res.body) {
        text += (chunk as Buffer).toString("utf8");
        if (text.includes("notifications/subscriptions/acknowledged")) break;
      }
      controller.abort();
      assert.match(text, /"method":"notifications\/subscriptions\/acknowledged"/);
    });

    it("passes traceparent, tracestate and baggage unchanged, in headers and in _meta", async () => {
      const trace = {
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        tracestate: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        baggage: "userId=alice,serverNode=DF%2028,isProduction=false",
      };
      const since = Date.now();
      const answer = await rawPost(
        proxy.sidecar.url,
        modern(7, "tools/call", { name: "greet", arguments: { who: "trace" }, _meta: trace }),
        { ...headersFor("tools/call", KEYS.alice), "mcp-name": "greet", ...trace },
      );
      assert.equal(answer.status, 200);
      const sent = tap.sentSince(since);
      for (const [name, value] of Object.entries(trace)) {
        assert.match(
          sent,
          new RegExp(`\\r\\n${name}: ${value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\r\\n`, "i"),
          `header ${name}`,
        );
        assert.ok(sent.includes(`${JSON.stringify(name)}:${JSON.stringify(value)}`), `_meta ${name}`);
      }
    });
  },
);
