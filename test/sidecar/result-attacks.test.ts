// Result rules against an upstream that tries to get a secret past them, judged by every byte the
// agent received: answers split across SSE chunks and events, JSON and SSE bodies, JSON-RPC batches,
// JSON texts that spell the secret with \u escapes, structuredContent nested deep and secrets in keys,
// resource contents, _meta, isError results, duplicated members, answers near maxBytes, a result
// replayed on a resumed GET stream, answers under another call's id, and logging notifications sent
// while the call runs. The upstream is a few lines of raw HTTP, so each answer is exactly the bytes
// the attack means.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { messagesOf, rawInitialize, rawPost, toolCall, type RawAnswer } from "../support/raw-mcp.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";

const SECRET = "AKIAZ7Q3M5R2TY8WXK4P";
const ESCAPED = "\\u0041KIAZ7Q3M5R2TY8WXK4P"; // the same key with its A as a JSON escape
const textResult = (text: string) => ({ content: [{ type: "text", text }] });

/** An answer the upstream sends: a JSON body, or SSE events written in chunks of `chunk` bytes. */
interface Scripted {
  readonly sse?: boolean;
  readonly chunk?: number;
  /** Each item is one message's (or one event's) JSON text; `{id}` is replaced by the minted id. */
  readonly messages: readonly string[];
  /** Bytes before the first event (a byte order mark, which SSE clients skip). */
  readonly prefix?: string;
}

type Script = (minted: number) => Scripted;
const json =
  (result: unknown): Script =>
  () => ({ messages: [JSON.stringify({ jsonrpc: "2.0", id: 0, result }).replace('"id":0', '"id":{id}')] });
const sse =
  (result: unknown, chunk = 3): Script =>
  (minted) => ({ ...json(result)(minted), sse: true, chunk });

/** What each tool answers, by the `case` argument of its call. */
const CASES: Record<string, Script> = {
  json: json(textResult(`aws_access_key_id = ${SECRET}`)),
  clean: json(textResult("clean")),
  sseSplit: sse(textResult(`aws_access_key_id = ${SECRET}`), 2),
  sseBom: () => ({ ...sse(textResult(`aws_access_key_id = ${SECRET}`), 2)(0), prefix: "\ufeff" }),
  sseMultiLine: () => ({
    sse: true,
    chunk: 5,
    messages: [`{"jsonrpc":"2.0","id":{id},\n"result":{"content":[{"type":"text",\n"text":"${SECRET}"}]}}`],
  }),
  escapedJson: json(textResult(`{"key": "${ESCAPED}"}`)),
  escapedJsonPadded: json(textResult(`\n  {"key": "${ESCAPED}"}\n`)),
  escapedDeep: json(textResult(JSON.stringify(JSON.stringify(JSON.stringify(`{"key": "${ESCAPED}"}`))))),
  escapedDeeper: json(
    textResult(JSON.stringify([JSON.stringify([JSON.stringify([JSON.stringify({ note: "line\nbreak" })])])])),
  ),
  escapedOnTheWire: () => ({
    messages: [`{"jsonrpc":"2.0","id":{id},"result":{"content":[{"type":"text","text":"${ESCAPED}"}]}}`],
  }),
  deep: json({ content: [], structuredContent: nest(40, { key: SECRET }) }),
  tooDeep: json({ content: [], structuredContent: nest(5000, SECRET) }),
  inKey: json({ content: [], structuredContent: { [SECRET]: 1, [`prefix ${SECRET}`]: { x: true } } }),
  resource: json({
    content: [{ type: "resource", resource: { uri: "file:///k", mimeType: "text/plain", text: SECRET } }],
  }),
  resourceLink: json({
    content: [{ type: "resource_link", uri: `s3://bucket/${SECRET}`, name: SECRET, description: SECRET }],
  }),
  meta: json({ content: [], _meta: { "example.com/debug": { env: `AWS_ACCESS_KEY_ID=${SECRET}` } } }),
  isError: json({ content: [{ type: "text", text: `failed with key ${SECRET}` }], isError: true }),
  duplicateResult: () => ({
    messages: [
      `{"jsonrpc":"2.0","id":{id},"result":{"content":[]},"result":{"content":[{"type":"text","text":"${SECRET}"}]}}`,
    ],
  }),
  duplicateContent: () => ({
    messages: [`{"jsonrpc":"2.0","id":{id},"result":{"content":[{"type":"text","text":"${SECRET}"}],"content":[]}}`],
  }),
  logging: (minted) => ({
    sse: true,
    messages: [
      JSON.stringify({
        jsonrpc: "2.0",
        method: "notifications/message",
        params: { level: "info", logger: "kv", data: { read: SECRET } },
      }),
      ...json(textResult("done"))(minted).messages,
    ],
  }),
  sampling: (minted) => ({
    sse: true,
    messages: [
      JSON.stringify({
        jsonrpc: "2.0",
        id: 900,
        method: "sampling/createMessage",
        params: { maxTokens: 10, messages: [{ role: "user", content: { type: "text", text: `summarise ${SECRET}` } }] },
      }),
      ...json(textResult("done"))(minted).messages,
    ],
  }),
  rpcError: () => ({
    messages: [
      JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        error: { code: -32603, message: `cannot parse ${SECRET}`, data: { read: SECRET } },
      }).replace('"id":0', '"id":{id}'),
    ],
  }),
  nearBound: json(textResult(`${SECRET} ${"x".repeat(4096 - 120)}`)),
  overBound: json(textResult(`${SECRET} ${"x".repeat(4200)}`)),
};

function nest(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { a: [value] };
  return value;
}

interface RawUpstream {
  url: string;
  /** Minted ids of the tools/call requests that reached it. */
  minted: number[];
  close(): Promise<void>;
}

/** A raw MCP upstream: initialize, tools/call answered by CASES, and a GET that replays `replay`. */
async function startRawUpstream(replay: () => string | undefined): Promise<RawUpstream> {
  const minted: number[] = [];
  const server = createServer((req, res) => void answer(req, res).catch(() => res.destroy()));
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === "GET") {
      const event = replay();
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(event === undefined ? "" : `id: 1\ndata: ${event}\n\n`);
      return;
    }
    if (req.method !== "POST") return void res.writeHead(405).end();
    let body = "";
    for await (const chunk of req) body += String(chunk);
    const parsed = JSON.parse(body) as Record<string, unknown> | Record<string, unknown>[];
    const requests = [parsed].flat().filter((m) => m.id !== undefined);
    if (requests.length === 0) return void res.writeHead(202).end();
    const first = requests[0];
    if (first?.method === "initialize") {
      res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "raw-session" });
      res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          id: first.id,
          result: {
            protocolVersion: "2025-03-26",
            capabilities: { tools: {}, logging: {} },
            serverInfo: { name: "raw", version: "1" },
          },
        }),
      );
      return;
    }
    // A call with `swap` set gets the answer meant for the other call of its batch, under its own id.
    const swapped = requests.some((r) => (r.params as { arguments?: { swap?: boolean } }).arguments?.swap === true);
    const scripts = requests.map((r, i) => {
      const id = r.id as number;
      minted.push(id);
      const params = (swapped ? requests[requests.length - 1 - i] : r)?.params as { arguments?: { case?: string } };
      return (CASES[params.arguments?.case ?? ""] ?? json(textResult("?")))(id).messages.map((m) =>
        m.replace("{id}", String(id)),
      );
    });
    const script = CASES[(requests[0]?.params as { arguments: { case: string } }).arguments.case]?.(0);
    if (Array.isArray(parsed)) {
      res.writeHead(200, { "content-type": "application/json" }).end(`[${scripts.flat().join(",")}]`);
      return;
    }
    const messages = scripts.flat();
    if (!script?.sse) return void res.writeHead(200, { "content-type": "application/json" }).end(messages[0]);
    res.writeHead(200, { "content-type": "text/event-stream" });
    const stream =
      (script.prefix ?? "") +
      messages
        .map(
          (m) =>
            `${m
              .split("\n")
              .map((line) => `data: ${line}`)
              .join("\n")}\n\n`,
        )
        .join("");
    const size = script.chunk ?? stream.length;
    for (let at = 0; at < stream.length; at += size) {
      res.write(stream.slice(at, at + size));
      await new Promise((resolve) => setImmediate(resolve));
    }
    res.end();
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    minted,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const POLICY = mcpPolicy(`
default: allow
tools:
  - name: leak
    results: {redact: [secrets]}
  - name: deny_*
    results: {denyIf: [aws-access-key-id], maxBytes: 4096}
`);

describe("result rules under attack", { timeout: 60_000 }, () => {
  let upstream: RawUpstream;
  let proxy: ProxyHarness;
  let replay: string | undefined;
  let headers: Record<string, string>;
  before(async () => {
    upstream = await startRawUpstream(() => replay);
    proxy = await startProxy(upstream.url, { policy: POLICY });
    const auth = { authorization: `Bearer ${KEYS.alice}` };
    headers = {
      ...auth,
      "mcp-session-id": await rawInitialize(proxy.sidecar.url, auth),
      "mcp-protocol-version": "2025-03-26",
    };
  });
  after(async () => {
    await proxy?.close();
    await upstream?.close();
  });
  const callCase = (tool: string, name: string, id = 1) =>
    rawPost(proxy.sidecar.url, toolCall(id, tool, { case: name }), headers);
  /** Neither the key nor its escaped spelling reached the agent, in any form. */
  const assertNoSecret = (answer: RawAnswer, what: string) => {
    assert.equal(answer.status, 200, what);
    const all = answer.text + JSON.stringify(messagesOf(answer));
    for (const form of [SECRET, ESCAPED, "\\\\u0041KIA", "M5R2TY8WXK4P"])
      assert.ok(!all.includes(form), `${what}: the agent got ${form}: ${answer.text.slice(0, 400)}`);
  };
  const resultOf = (answer: RawAnswer) =>
    messagesOf(answer).find((m) => "result" in m)?.result as {
      content: { text?: string }[];
      isError?: boolean;
      structuredContent?: unknown;
    };

  for (const name of [
    "json",
    "sseSplit",
    "sseBom",
    "sseMultiLine",
    "escapedJson",
    "escapedJsonPadded",
    "escapedDeep",
    "escapedOnTheWire",
    "deep",
    "inKey",
    "resource",
    "resourceLink",
    "meta",
    "isError",
    "duplicateResult",
    "duplicateContent",
  ]) {
    it(`redact: ${name}`, async () => {
      const answer = await callCase("leak", name);
      assertNoSecret(answer, name);
      assert.ok(resultOf(answer), `${name}: a result reached the agent`);
    });
  }

  it("redact: a result nested too deeply to read is refused or withheld", async () => {
    // Deeper than the sidecar parses at all: the answer is refused before any rule.
    const refused = await callCase("leak", "tooDeep");
    assert.ok(!refused.text.includes(SECRET));
    assert.match(refused.text, /"error"/);
    // JSON in a string in JSON in a string… deeper than the scan reads, with escapes that could hide a match.
    const answer = await callCase("leak", "escapedDeeper");
    assertNoSecret(answer, "escapedDeeper");
    assert.match(resultOf(answer).content[0]?.text ?? "", /^\[RESULT WITHHELD\].*nested too deeply/);
  });

  it("denyIf through a glob rule: the whole result is withheld, JSON and SSE", async () => {
    for (const name of ["json", "sseSplit", "escapedJsonPadded", "inKey", "isError", "nearBound"]) {
      const answer = await callCase("deny_kv", name);
      assertNoSecret(answer, name);
      assert.match(
        resultOf(answer).content[0]?.text ?? "",
        /^\[RESULT WITHHELD\] The result of 'deny_kv' .*aws-access-key-id \(\d+ match/,
        name,
      );
    }
    const over = await callCase("deny_kv", "overBound");
    assertNoSecret(over, "overBound");
    assert.match(resultOf(over).content[0]?.text ?? "", /more than the 4096 bytes/);
  });

  it("a JSON-RPC batch of calls answered by a JSON batch: each result by its own call's rules", async () => {
    const answer = await rawPost(
      proxy.sidecar.url,
      [toolCall(1, "leak", { case: "json" }), toolCall(2, "deny_kv", { case: "inKey" })],
      headers,
    );
    assertNoSecret(answer, "batch");
    const messages = messagesOf(answer);
    assert.deepEqual(messages.map((m) => m.id).sort(), [1, 2]);
    assert.match(JSON.stringify(messages.find((m) => m.id === 2)), /RESULT WITHHELD/);
    assert.match(JSON.stringify(messages.find((m) => m.id === 1)), /REDACTED:aws-access-key-id/);
  });

  it("an answer the upstream gives under another call's id is judged by the rules of the call that id names", async () => {
    const answer = await rawPost(
      proxy.sidecar.url,
      [toolCall(1, "leak", { case: "clean", swap: true }), toolCall(2, "plain", { case: "json" })],
      headers,
    );
    const messages = messagesOf(answer);
    assert.match(
      JSON.stringify(messages.find((m) => m.id === 1)),
      /aws_access_key_id = \[REDACTED:aws-access-key-id\]/,
      "the secret meant for 'plain' came back as 'leak''s result, redacted",
    );
    assert.match(JSON.stringify(messages.find((m) => m.id === 2)), /"text":"clean"/);
  });

  it("a result replayed on a resumed GET stream is withheld: it cannot be tied to its call", async () => {
    await callCase("leak", "json", 9);
    const minted = upstream.minted.at(-1);
    replay = JSON.stringify({ jsonrpc: "2.0", id: minted, result: textResult(`aws_access_key_id = ${SECRET}`) });
    const res = await fetch(proxy.sidecar.url, {
      headers: { ...headers, accept: "text/event-stream", "last-event-id": "0" },
    });
    const text = await res.text();
    replay = undefined;
    assert.ok(!text.includes(SECRET), text);
  });

  it("a server request (sampling) sent on the call's stream is judged by the call's rules", async () => {
    assertNoSecret(await callCase("leak", "sampling"), "sampling, redact");
    const denied = await callCase("deny_kv", "sampling");
    assertNoSecret(denied, "sampling, denyIf");
    assert.equal(resultOf(denied).content[0]?.text, "done", "the result itself held no secret");
  });

  it("a JSON-RPC error answering the call is judged by the call's rules: its message and data", async () => {
    for (const tool of ["leak", "deny_kv"]) {
      const answer = await callCase(tool, "rpcError");
      assertNoSecret(answer, `rpcError, ${tool}`);
      const error = messagesOf(answer).find((m) => "error" in m)?.error as
        { code: number; message: string } | undefined;
      assert.equal(error?.code, -32603, `${tool}: the error still reached the agent as an error`);
    }
  });

  it("a logging notification sent on the call's stream is judged by the call's rules", async () => {
    assertNoSecret(await callCase("leak", "logging"), "logging, redact");
    const denied = await callCase("deny_kv", "logging");
    assertNoSecret(denied, "logging, denyIf");
    assert.equal(resultOf(denied).content[0]?.text, "done", "the result itself held no secret");
  });
});
