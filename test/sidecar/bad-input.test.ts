// The bad-input corpus: every row is a request a careless or hostile client could send. Each must get a
// clear JSON-RPC error or HTTP 4xx (never a 5xx, a crash or a hang), and no call the policy would deny
// may reach the upstream: the only tool the upstream may ever see here is list_namespaces.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { KEYS, startHarness, type Harness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";

const POLICY = mcpPolicy("default: deny\nhide: [force_run_execution]\ntools:\n  - name: list_namespaces");
const ALLOWED = "list_namespaces";

interface Row {
  name: string;
  body: string | Buffer;
  headers?: Record<string, string>;
  method?: "POST" | "PUT" | "PATCH";
  /** HTTP status expected. */
  status: number;
  /** JSON-RPC error code expected in the body (single answer, or every element of a batch answer). */
  code?: number | number[];
  /** A pattern the body must match. */
  match?: RegExp;
  session?: "own" | "none" | "forged" | "bob";
}

const call = (name: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name, arguments: {} }, ...extra });
const withMethod = (method: string) =>
  JSON.stringify({ jsonrpc: "2.0", id: 8, method, params: { name: "delete_flow_logs", arguments: {} } });

const CORPUS: Row[] = [
  { name: "invalid JSON", body: '{"jsonrpc":"2.0",', status: 400, code: -32700 },
  { name: "a number as the body", body: "42", status: 400, code: -32600 },
  { name: "a string as the body", body: '"tools/call"', status: 400, code: -32600 },
  { name: "null as the body", body: "null", status: 400, code: -32600 },
  { name: "an empty body", body: "", status: 400, code: -32700 },
  { name: "an empty batch", body: "[]", status: 400, code: -32600 },
  { name: "a batch of non-messages", body: "[1, true]", status: 200, code: [-32600, -32600] },
  {
    name: "a batch hiding a denied call after an allowed one",
    body: `[${call(ALLOWED)},${call("delete_flow_logs").replace('"id":7', '"id":9')}]`,
    status: 200,
    match: /\[POLICY DENIED\] Tool 'delete_flow_logs'/,
  },
  // Answered as the upstream (FastMCP-like) answers a tool it does not have.
  {
    name: "a batch hiding a hidden tool",
    body: `[${call("force_run_execution")}]`,
    status: 200,
    match: /^\[\{"jsonrpc":"2.0","id":7,"result":\{[^\]]*"text":"Unknown tool: 'force_run_execution'"/,
  },
  {
    name: "a batch with a repeated request id",
    body: `[${call(ALLOWED)},${call(ALLOWED)}]`,
    status: 400,
    code: -32600,
  },
  {
    name: "a batch larger than the bound",
    body: `[${Array.from({ length: 101 }, (_, i) => call(ALLOWED).replace('"id":7', `"id":${1000 + i}`)).join(",")}]`,
    status: 400,
    code: -32600,
  },
  {
    name: "a body over the size bound",
    body: call(ALLOWED, { padding: "x".repeat(70_000) }),
    status: 413,
    code: -32600,
  },
  {
    name: "nesting deeper than the bound",
    body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"${ALLOWED}","arguments":${'{"a":'.repeat(80)}1${"}".repeat(80)}}}`,
    status: 400,
    code: -32700,
    match: /nested deeper than 64/,
  },
  {
    name: "headers over the size bound",
    body: call(ALLOWED),
    headers: { "mcp-name": "x".repeat(20_000) },
    status: 431,
    code: -32600,
    match: /headers larger than/,
  },
  { name: "Content-Type text/plain", body: call(ALLOWED), headers: { "content-type": "text/plain" }, status: 415 },
  {
    name: "a JSON Content-Type in another charset",
    body: call(ALLOWED),
    headers: { "content-type": "application/json; charset=iso-8859-1" },
    status: 415,
  },
  {
    name: "Content-Type form data",
    body: call(ALLOWED),
    headers: { "content-type": "application/x-www-form-urlencoded" },
    status: 415,
  },
  { name: "params.name a number", body: call(42), status: 200, code: -32602, match: /params\.name must be a string/ },
  { name: "params.name an array", body: call(["delete_flow_logs"]), status: 200, code: -32602 },
  { name: "params.name an object", body: call({ toString: "delete_flow_logs" }), status: 200, code: -32602 },
  {
    name: "params missing",
    body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call" }),
    status: 200,
    code: -32602,
  },
  {
    name: "arguments an array",
    body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: ALLOWED, arguments: [1] } }),
    status: 200,
    code: -32602,
  },
  {
    name: "arguments null",
    body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: ALLOWED, arguments: null } }),
    status: 200,
    code: -32602,
  },
  { name: "method Tools/Call", body: withMethod("Tools/Call"), status: 200, code: -32601 },
  { name: "method TOOLS/CALL", body: withMethod("TOOLS/CALL"), status: 200, code: -32601 },
  { name: "method with a trailing space", body: withMethod("tools/call "), status: 200, code: -32601 },
  { name: "method in full-width letters", body: withMethod("ｔｏｏｌｓ/ｃａｌｌ"), status: 200, code: -32601 },
  { name: "method with a zero-width space", body: withMethod("tools/\u200bcall"), status: 200, code: -32601 },
  { name: "method Tools/List", body: withMethod("Tools/List"), status: 200, code: -32601 },
  {
    name: "tools/call as a notification",
    body: JSON.stringify({ jsonrpc: "2.0", method: "tools/call", params: { name: "delete_flow_logs" } }),
    status: 400,
    code: -32600,
  },
  { name: "tools/call with a null id", body: call("delete_flow_logs", { id: null }), status: 400, code: -32600 },
  { name: "tools/call with an object id", body: call("delete_flow_logs", { id: { a: 1 } }), status: 400, code: -32600 },
  {
    name: "a Cyrillic look-alike of an allowed tool",
    body: call("list_namespaceѕ"),
    status: 200,
    code: -32602,
    match: /not a valid tool name/,
  },
  {
    name: "an allowed tool name with a zero-width joiner",
    body: call("list_\u200dnamespaces"),
    status: 200,
    code: -32602,
  },
  { name: "an allowed tool name with a trailing space", body: call("list_namespaces "), status: 200, code: -32602 },
  { name: "a full-width look-alike of a hidden tool", body: call("ｆorce_run_execution"), status: 200, code: -32602 },
  { name: "a tool name of 10,000 characters", body: call("a".repeat(10_000)), status: 200, code: -32602 },
  {
    name: "duplicate params.name keys",
    body: `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"${ALLOWED}","name":"delete_flow_logs","arguments":{}}}`,
    status: 400,
    code: -32700,
    match: /duplicate object key/,
  },
  {
    name: "duplicate method keys",
    body: `{"jsonrpc":"2.0","id":7,"method":"tools/list","method":"tools/call","params":{"name":"delete_flow_logs"}}`,
    status: 400,
    code: -32700,
  },
  {
    name: "duplicate keys hidden by escapes",
    body: `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"${ALLOWED}","\\u006eame":"delete_flow_logs"}}`,
    status: 400,
    code: -32700,
  },
  {
    name: "duplicate argument keys",
    body: `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"${ALLOWED}","arguments":{"q":"a","q":"b"}}}`,
    status: 400,
    code: -32700,
  },
  {
    name: "invalid UTF-8",
    body: Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"'),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from('"}}'),
    ]),
    status: 400,
    code: -32700,
    match: /UTF-8/,
  },
  { name: "a byte-order mark", body: `\uFEFF${call(ALLOWED)}`, status: 400, code: -32700 },
  {
    name: "an id a double would round",
    body: call(ALLOWED).replace('"id":7', '"id":9007199254740993'),
    status: 400,
    code: -32700,
  },
  { name: "no session id on a stateful server", body: call(ALLOWED), session: "none", status: 400 },
  { name: "a forged session id", body: call(ALLOWED), session: "forged", status: 404, code: -32001 },
  { name: "another caller's session id", body: call(ALLOWED), session: "bob", status: 404, code: -32001 },
  {
    name: "Mcp-Name disagreeing with the body",
    body: call("delete_flow_logs"),
    headers: { "mcp-method": "tools/call", "mcp-name": ALLOWED },
    status: 400,
    code: -32600,
  },
  {
    name: "Mcp-Name disagreeing with a 2026-07-28 body",
    body: call("delete_flow_logs"),
    headers: { "mcp-method": "tools/call", "mcp-name": ALLOWED, "mcp-protocol-version": "2026-07-28" },
    status: 400,
    code: -32020,
  },
  {
    name: "Mcp-Name base64 disagreeing with the body",
    body: call("delete_flow_logs"),
    headers: { "mcp-name": `=?base64?${Buffer.from(ALLOWED).toString("base64")}?=` },
    status: 400,
    code: -32600,
  },
  {
    name: "Mcp-Method disagreeing with the body",
    body: call("delete_flow_logs"),
    headers: { "mcp-method": "tools/list" },
    status: 400,
    code: -32600,
  },
  {
    name: "Mcp-Name on a batch",
    body: `[${call(ALLOWED)}]`,
    headers: { "mcp-name": ALLOWED },
    status: 400,
    code: -32600,
  },
  { name: "PUT on the endpoint", body: call("delete_flow_logs"), method: "PUT", status: 405 },
  { name: "PATCH on the endpoint", body: call("delete_flow_logs"), method: "PATCH", status: 405 },
  {
    name: "an Origin not on the allow-list",
    body: call(ALLOWED),
    headers: { origin: "https://evil.example" },
    status: 403,
  },
  { name: "no credentials", body: call(ALLOWED), headers: { authorization: "" }, status: 401 },
  { name: "an unknown API key", body: call(ALLOWED), headers: { authorization: "Bearer not-a-key" }, status: 401 },
  {
    name: "a Basic credential",
    body: call(ALLOWED),
    headers: { authorization: `Basic ${Buffer.from(`alice:${KEYS.alice}`).toString("base64")}` },
    status: 401,
  },
];

describe("bad input", () => {
  let h: Harness;
  const sessions: Record<string, string> = {};
  const headersFor = (row: Row): Record<string, string> => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${KEYS.alice}`,
      "mcp-protocol-version": "2025-03-26",
    };
    const session = row.session ?? "own";
    if (session === "own") headers["mcp-session-id"] = sessions.alice as string;
    if (session === "bob") headers["mcp-session-id"] = sessions.bob as string;
    if (session === "forged") headers["mcp-session-id"] = "3f0c8b8e-5a0b-4a57-9f7e-0d8f2a9e1c44";
    for (const [k, v] of Object.entries(row.headers ?? {})) {
      if (v === "") delete headers[k];
      else headers[k] = v;
    }
    return headers;
  };

  before(async () => {
    h = await startHarness({
      policy: POLICY,
      upstream: { answers: "json" },
      config: {
        maxBodyBytes: 64 * 1024,
        allowedOrigins: ["https://agents.example"],
        headersTimeoutMs: 500,
        requestTimeoutMs: 1000,
      },
    });
    await h.catalogued();
    for (const who of ["alice", "bob"] as const) {
      const res = await request(h.sidecar.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          authorization: `Bearer ${KEYS[who]}`,
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 0,
          method: "initialize",
          params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: who, version: "1" } },
        }),
      });
      await res.body.dump();
      sessions[who] = res.headers["mcp-session-id"] as string;
      assert.ok(sessions[who], "initialize issued a session");
    }
  });
  after(() => h.close());

  for (const row of CORPUS) {
    it(row.name, async () => {
      const res = await request(h.sidecar.url, {
        method: row.method ?? "POST",
        headers: headersFor(row),
        body: row.body,
      });
      const text = await res.body.text();
      assert.equal(res.statusCode, row.status, `status ${res.statusCode}: ${text.slice(0, 300)}`);
      assert.ok(res.statusCode < 500);
      if (row.code !== undefined) {
        const parsed = JSON.parse(text) as { error?: { code: number } } | { error?: { code: number } }[];
        const codes = Array.isArray(parsed) ? parsed.map((m) => m.error?.code) : parsed.error?.code;
        assert.deepEqual(codes, row.code, text.slice(0, 300));
      }
      if (row.match) assert.match(text, row.match);
      assert.deepEqual(
        [...new Set(h.upstream.calls.map((c) => c.tool))].filter((t) => t !== ALLOWED),
        [],
        "a call the policy does not allow reached the upstream",
      );
    });
  }

  it("keeps audit lines short whatever the caller sends", () => {
    const longest = Math.max(...h.logs.auditLines.map((l) => JSON.stringify(l).length));
    assert.ok(longest < 2000, `an audit line of ${longest} characters`);
    assert.ok(
      h.logs.auditLines.some((l) => String(l.tool).endsWith("…")),
      "the 10,000-character name was cut",
    );
  });

  it("counted look-alike names as invalid_tool_name under _unknown, never under their own label", async () => {
    assert.ok(
      ((await h.metric("mcp_warden_tool_calls_total", { tool: "_unknown", reason: "invalid_tool_name" })) ?? 0) >= 5,
    );
    const text = await (await fetch(`${h.sidecar.adminUrl}/metrics`)).text();
    assert.equal(/tool="[^"]*[^\x20-\x7e]/.test(text), false, "a non-ASCII tool label was exported");
  });

  it("closes a connection whose headers never finish (slow loris)", async () => {
    const socket = connect(Number(new URL(h.sidecar.url).port), "127.0.0.1");
    socket.write(`POST /mcp HTTP/1.1\r\nHost: x\r\nX-Slow: `);
    const answer = await readUntilClosed(socket);
    assert.match(answer, /^HTTP\/1\.1 408|^$/);
  });

  it("closes a connection that never sends anything", async () => {
    const socket = connect(Number(new URL(h.sidecar.url).port), "127.0.0.1");
    assert.equal(await readUntilClosed(socket), "");
  });

  it("closes a connection whose body never finishes", async () => {
    const socket = connect(Number(new URL(h.sidecar.url).port), "127.0.0.1");
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.alice}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"jsonrpc":`,
    );
    const answer = await readUntilClosed(socket);
    assert.match(answer, /^HTTP\/1\.1 408|^$/);
  });

  it("answers a request that is not HTTP with a JSON-RPC error, and closes the connection", async () => {
    const socket = connect(Number(new URL(h.sidecar.url).port), "127.0.0.1");
    socket.write("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n");
    const answer = await readUntilClosed(socket);
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.deepEqual(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)), {
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "Malformed HTTP request" },
    });
  });

  it("still serves well-formed calls after all of this", async () => {
    const alice = await h.client(KEYS.alice);
    const result = (await alice.callTool({ name: ALLOWED, arguments: {} })) as { isError?: boolean };
    assert.equal(result.isError, undefined);
    assert.equal((await fetch(`${h.sidecar.adminUrl}/healthz`)).status, 200);
  });
});

function readUntilClosed(socket: ReturnType<typeof connect>): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
  });
}
