// The fuzzer's MCP upstream double: a bare HTTP server that answers like a stateful MCP server (JSON or
// SSE, sessions on initialize, a tools/list with the hidden tool in it) and checks everything the
// sidecar forwards to it against the policy, as a second, independent reader: a body it cannot parse,
// a look-alike of a policed method, a tools/call the policy would not allow (re-decided here with the
// same compiled policy), a tool name a strict server would not take, more calls of the limited tool
// than its budget, or the caller's Authorization header is a violation.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { evaluateToolCall } from "../../../policy/decide.ts";
import { imitatesPolicedMethod } from "../../../sidecar/mcp/jsonrpc.ts";
import { FUZZ_POLICY, LIMITED_MAX, LIMITED_TOOL, UPSTREAM_TOOLS } from "./policy.ts";

const CALLER = { grant: "apikey:alice", sub: "alice", groups: [], claims: {} };
const TOOL_NAME = /^[A-Za-z0-9_.\-/]{1,128}$/;
// The sidecar's own session calls one tool that cannot exist to learn how the server answers a missing
// tool (ADR 0122); the policy would deny that name to an agent, and no agent's call carries it.
const SIDECAR_PROBE = /^mcp-warden-absent-[0-9a-f]{32}$/;
const MAX_VIOLATIONS = 50;

export interface SpyUpstream {
  readonly url: string;
  readonly stats: { requests: number; messages: number; toolCalls: number; limitedCalls: number };
  /** What the sidecar should never have forwarded (at most 50 kept). */
  readonly violations: string[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

export async function startSpyUpstream(): Promise<SpyUpstream> {
  const stats = { requests: 0, messages: 0, toolCalls: 0, limitedCalls: 0 };
  const violations: string[] = [];
  let sessions = 0;
  let sse = false;
  const violation = (text: string) => {
    if (violations.length < MAX_VIOLATIONS) violations.push(text.slice(0, 500));
  };

  const checkMessage = (message: unknown): void => {
    stats.messages++;
    if (typeof message !== "object" || message === null || Array.isArray(message))
      return violation(`forwarded a non-object message: ${JSON.stringify(message)}`);
    const m = message as Json;
    if (typeof m.method !== "string") return;
    if (imitatesPolicedMethod(m.method))
      return violation(`forwarded the look-alike method ${JSON.stringify(m.method)}`);
    if (m.method !== "tools/call") return;
    stats.toolCalls++;
    if (typeof m.id !== "string" && typeof m.id !== "number")
      return violation(`forwarded a tools/call without a usable id: ${JSON.stringify(m).slice(0, 200)}`);
    const params = m.params as Json | undefined;
    if (typeof params !== "object" || params === null || Array.isArray(params))
      return violation(`forwarded a tools/call without params: ${JSON.stringify(m)}`);
    const { name, arguments: args } = params;
    if (typeof name !== "string")
      return violation(`forwarded a tools/call whose name is not a string: ${JSON.stringify(name)}`);
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args)))
      return violation(`forwarded ${name} with arguments that are not an object`);
    if (SIDECAR_PROBE.test(name)) return;
    if (!TOOL_NAME.test(name) && !UPSTREAM_TOOLS.includes(name))
      return violation(`forwarded a tool name a strict server would not take: ${JSON.stringify(name)}`);
    const evaluation = evaluateToolCall(FUZZ_POLICY, { tool: name, args: (args ?? {}) as Json, caller: CALLER });
    if (evaluation.decision !== "allowed")
      return violation(
        `forwarded ${name} ${JSON.stringify(args)}, which the policy decides ${evaluation.decision} (${evaluation.reason})`,
      );
    if (name === LIMITED_TOOL && ++stats.limitedCalls > LIMITED_MAX)
      violation(`forwarded ${LIMITED_TOOL} ${stats.limitedCalls} times; its budget is ${LIMITED_MAX} per hour`);
  };

  const answer = (m: Json): Json | undefined => {
    if (typeof m.method !== "string" || !("id" in m)) return undefined;
    const reply = (result: unknown) => ({ jsonrpc: "2.0", id: m.id, result });
    switch (m.method) {
      case "initialize":
        return reply({
          protocolVersion: "2025-06-18",
          capabilities: { tools: {} },
          serverInfo: { name: "spy", version: "1" },
        });
      case "ping":
        return reply({});
      case "tools/list":
        return reply({ tools: UPSTREAM_TOOLS.map((name) => ({ name, inputSchema: { type: "object" } })) });
      case "tools/call":
        return reply({ content: [{ type: "text", text: `ran ${String((m.params as Json).name)}` }] });
      default:
        return { jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } };
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    stats.requests++;
    if (req.headers.authorization !== undefined) violation("the caller's Authorization header reached the upstream");
    if (req.method === "DELETE") return void res.writeHead(200).end();
    if (req.method !== "POST") return void res.writeHead(405, { allow: "POST, DELETE" }).end();
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      violation(`forwarded a body that is not JSON: ${JSON.stringify(body.toString("utf8").slice(0, 200))}`);
      return void res
        .writeHead(400, { "content-type": "application/json" })
        .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}');
    }
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    if (messages.length === 0) violation("forwarded an empty batch");
    for (const message of messages) checkMessage(message);
    const answers = messages.flatMap((m) =>
      typeof m === "object" && m !== null ? [answer(m as Json)].filter((a) => a !== undefined) : [],
    );
    const headers: Record<string, string> = {};
    if (
      messages.some((m) => (m as Json | null)?.method === "initialize") &&
      req.headers["mcp-session-id"] === undefined
    )
      headers["mcp-session-id"] = `spy-session-${++sessions}`;
    if (answers.length === 0) return void res.writeHead(202, headers).end();
    sse = !sse;
    if (sse && String(req.headers.accept ?? "").includes("text/event-stream")) {
      res.writeHead(200, { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.end(answers.map((a) => `event: message\ndata: ${JSON.stringify(a)}\n\n`).join(""));
      return;
    }
    const text = JSON.stringify(Array.isArray(parsed) ? answers : answers[0]);
    res
      .writeHead(200, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) })
      .end(text);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks)));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    stats,
    violations,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
