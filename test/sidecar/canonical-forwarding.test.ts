// What the upstream receives and what the client gets back, seen from a scripted upstream that records
// every request byte for byte: the decided messages re-serialised under ids the sidecar minted, and
// answers mapped back, filtered, or refused when they cannot be read (ADR 0109).
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { after, before, beforeEach, describe, it } from "node:test";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { messagesOf, rawPost, toolCall } from "../support/raw-mcp.ts";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}
type Answer = { status: number; headers: Record<string, string>; body: string | Buffer };
type Script = (message: Record<string, unknown>) => Answer | Promise<Answer>;

const json = (value: unknown, headers: Record<string, string> = {}): Answer => ({
  status: 200,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(value),
});
const result = (id: unknown, value: unknown = { content: [{ type: "text", text: "ran" }] }) => ({
  jsonrpc: "2.0",
  id,
  result: value,
});
const echo: Script = (m) => (m.id === undefined ? { status: 202, headers: {}, body: "" } : json(result(m.id)));

/** An upstream that records each request and answers as the current script says. */
async function scriptedUpstream(): Promise<{
  url: string;
  received: Received[];
  script: { current: Script };
  server: Server;
}> {
  const received: Received[] = [];
  const script = { current: echo };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push({ headers: req.headers, body });
      void Promise.resolve(script.current(JSON.parse(body) as Record<string, unknown>)).then((answer) =>
        res.writeHead(answer.status, answer.headers).end(answer.body),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, received, script, server };
}

const auth = { authorization: `Bearer ${KEYS.alice}` };
const POLICY = mcpPolicy("default: allow\nhide: [secret_tool]");

describe("canonical forwarding and minted ids (scripted upstream)", () => {
  let upstream: Awaited<ReturnType<typeof scriptedUpstream>>;
  let proxy: ProxyHarness;
  before(async () => {
    upstream = await scriptedUpstream();
    proxy = await startProxy(upstream.url, { policy: POLICY });
  });
  after(async () => {
    await proxy.close();
    await new Promise((resolve) => upstream.server.close(resolve));
  });
  beforeEach(() => {
    upstream.received.length = 0;
    upstream.script.current = echo;
  });

  it("sends the decided message re-serialised, under a minted id, as application/json; the client gets its own id back", async () => {
    const body =
      '{ "jsonrpc" : "2.0", "id" : "call-1", "method" : "tools/call",\n "params" : { "name" : "echo", "arguments" : { "text" : "\\u0068i \\u00e9", "n" : 1.50 }, "extra": {"kept": true} } }';
    const answer = await rawPost(proxy.sidecar.url, body, {
      ...auth,
      "content-type": "application/json; charset=utf-8",
    });
    const sent = upstream.received[0] as Received;
    const message = JSON.parse(sent.body) as Record<string, unknown>;
    assert.equal(typeof message.id, "number", "the upstream sees the sidecar's id, not the client's");
    assert.equal(
      sent.body,
      JSON.stringify({
        jsonrpc: "2.0",
        id: message.id,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "hi é", n: 1.5 }, extra: { kept: true } },
      }),
    );
    assert.equal(sent.headers["content-type"], "application/json", "the client's parameters never cross");
    assert.equal(sent.headers["content-encoding"], undefined);
    assert.deepEqual(messagesOf(answer), [result("call-1")]);
  });

  it('gives 1001 and "1001" different ids upstream, so no upstream can alias them', async () => {
    const session = { ...auth };
    const [a, b] = await Promise.all([
      rawPost(proxy.sidecar.url, toolCall(1001, "echo"), session),
      rawPost(proxy.sidecar.url, toolCall("1001", "echo"), session),
    ]);
    const ids = upstream.received.map((r) => (JSON.parse(r.body) as { id: unknown }).id);
    assert.equal(new Set(ids.map(String)).size, 2, `distinct upstream ids: ${JSON.stringify(ids)}`);
    assert.ok(ids.every((id) => id !== 1001 && id !== "1001"));
    assert.deepEqual(messagesOf(a)[0]?.id, 1001);
    assert.deepEqual(messagesOf(b)[0]?.id, "1001");
  });

  it("drops an answer whose id was not minted for its stream, and answers the request itself", async () => {
    upstream.script.current = (m) =>
      json(result(typeof m.id === "number" ? m.id + 1 : 0, { tools: [{ name: "secret_tool" }] }));
    const answer = await rawPost(proxy.sidecar.url, toolCall(7, "echo"), auth);
    const [message] = messagesOf(answer);
    assert.equal(message?.id, 7);
    assert.match(JSON.stringify(message?.error), /ended its answer without answering this request/);
    assert.doesNotMatch(answer.text, /secret_tool/);
    assert.equal(await proxy.metric("mcp_warden_requests_total", { method: "_response", outcome: "dropped" }), 1);
  });

  it("an answer that echoes the client's own id is not the answer either", async () => {
    upstream.script.current = () => json(result(8));
    const answer = await rawPost(proxy.sidecar.url, toolCall(8, "echo"), auth);
    assert.equal(messagesOf(answer)[0]?.result, undefined);
  });

  it("removes hidden tools from a tools array in any answer, whatever it answers", async () => {
    upstream.script.current = (m) => json(result(m.id, { tools: [{ name: "echo" }, { name: "secret_tool" }] }));
    const answer = await rawPost(proxy.sidecar.url, { jsonrpc: "2.0", id: 3, method: "ping" }, auth);
    assert.deepEqual(messagesOf(answer), [result(3, { tools: [{ name: "echo" }] })]);
  });

  it("refuses answers it cannot read: encoded, unparseable, or of another media type", async () => {
    const cases: [string, Script][] = [
      [
        "gzip",
        (m) => ({
          status: 200,
          headers: { "content-type": "application/json", "content-encoding": "gzip" },
          body: gzipSync(JSON.stringify(result(m.id, { tools: [{ name: "secret_tool" }] }))),
        }),
      ],
      [
        "unparseable",
        () => ({
          status: 200,
          headers: { "content-type": "application/json" },
          body: '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"secret_tool"}]',
        }),
      ],
      ["text/plain", () => ({ status: 200, headers: { "content-type": "text/plain" }, body: "secret_tool" })],
    ];
    for (const [name, script] of cases) {
      upstream.script.current = script;
      const answer = await rawPost(proxy.sidecar.url, { jsonrpc: "2.0", id: 4, method: "tools/list" }, auth);
      assert.equal(answer.status, 502, name);
      assert.doesNotMatch(answer.text, /secret_tool/, name);
    }
  });

  it("rewrites a client's cancellation to the minted id, and sends none for a request it does not know", async () => {
    let cancelled!: (requestId: unknown) => void;
    const cancellation = new Promise<unknown>((resolve) => (cancelled = resolve));
    upstream.script.current = async (m) => {
      if (m.method === "notifications/cancelled") {
        cancelled((m.params as { requestId: unknown }).requestId);
        return { status: 202, headers: {}, body: "" };
      }
      if (m.method === "tools/call") await cancellation;
      return json(result(m.id));
    };
    const call = rawPost(proxy.sidecar.url, toolCall("slow", "echo"), auth);
    while (upstream.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const minted = (JSON.parse((upstream.received[0] as Received).body) as { id: number }).id;
    const cancel = await rawPost(
      proxy.sidecar.url,
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "slow", reason: "user" } },
      auth,
    );
    assert.equal(cancel.status, 202);
    assert.equal(await cancellation, minted, "the upstream is told to cancel the request it knows");
    await call;
    const late = await rawPost(
      proxy.sidecar.url,
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "slow" } },
      auth,
    );
    assert.equal(late.status, 202);
    assert.equal(upstream.received.length, 2, "a cancellation of nothing outstanding is not sent");
  });

  it("refuses a number every server would not read alike, before anything is sent", async () => {
    for (const n of ["1152921504606847000", "9007199254740993", "1e400"]) {
      const answer = await rawPost(
        proxy.sidecar.url,
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"n":${n}}}}`,
        auth,
      );
      assert.equal(answer.status, 400, n);
    }
    assert.equal(upstream.received.length, 0);
  });
});
