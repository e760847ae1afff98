// The proxy benchmark's MCP server: a lean double that costs next to nothing per call and keeps no
// state per request, so the benchmark measures the proxies and not the upstream (the TypeScript SDK's
// server in JSON-response mode keeps an entry per POST forever, and spends more CPU per call than a
// lean proxy). It answers like the Kestra server does (Streamable HTTP, sessions, answers as SSE
// events) with fixed bodies built once at start: `resume_execution` (≈ 0.3 KB), `list_executions`
// (13 executions, ≈ 24 KB), `tools/list` (the 39 Kestra tools with docstring-length descriptions),
// and an unknown tool answered as FastMCP answers it. A GET holds the session's standalone stream open.
//
//   node bench/proxy/lean-upstream.ts     # prints "READY http://127.0.0.1:PORT/mcp"
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { kestraTools } from "../../test/upstreams/kestra-double.ts";
import { kestraResult } from "../../test/upstreams/kestra-results.ts";

const PATH = "/mcp";
const tools = kestraTools("docstring");

/** A tool's result as Kestra's server sends it: the JSON as text, and as structuredContent when the tool declares an output schema. */
function toolResult(name: string, args: Record<string, unknown>): string {
  const result = kestraResult(name, args, { executionsPerPage: 13 });
  const withOutput = tools.find((t) => t.name === name)?.outputSchema !== undefined;
  return JSON.stringify({
    content: [{ type: "text", text: JSON.stringify(result) }],
    ...(withOutput ? { structuredContent: result } : {}),
  });
}

/** The fixed `result` member of each answer, serialised once. */
const RESULTS: Record<string, string> = {
  resume_execution: toolResult("resume_execution", { namespace: "company.team", flow_id: "nightly-etl" }),
  list_executions: toolResult("list_executions", { namespace: "company.team" }),
  // Answered like any tool the server has, so a proxy that lets it through is seen to (the benchmark's
  // policy denies it: the check at start asserts that the answer is not this one).
  force_run_execution: toolResult("force_run_execution", { namespace: "company.team", flow_id: "nightly-etl" }),
};
const TOOLS_LIST = JSON.stringify({ tools });
const INITIALIZE = JSON.stringify({
  protocolVersion: "2025-11-25",
  capabilities: { tools: { listChanged: true }, logging: {} },
  serverInfo: { name: "kestra-lean-double", version: "1.0.0" },
});
const unknownTool = (name: string) =>
  JSON.stringify({ isError: true, content: [{ type: "text", text: `Unknown tool: '${name}'` }] });

const sessions = new Set<string>();

interface Message {
  id?: string | number;
  method?: string;
  params?: { name?: string };
}

function resultOf(message: Message): string | undefined {
  switch (message.method) {
    case "tools/call": {
      const name = String(message.params?.name ?? "");
      return RESULTS[name] ?? unknownTool(name);
    }
    case "tools/list":
      return TOOLS_LIST;
    case "ping":
      return "{}";
    default:
      return undefined;
  }
}

function answer(res: ServerResponse, session: string, message: Message, result: string | undefined): void {
  const id = JSON.stringify(message.id ?? null);
  const data =
    result === undefined
      ? `{"jsonrpc":"2.0","id":${id},"error":{"code":-32601,"message":"Method not found"}}`
      : `{"jsonrpc":"2.0","id":${id},"result":${result}}`;
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "mcp-session-id": session });
  res.end(`event: message\ndata: ${data}\n\n`);
}

function post(req: IncomingMessage, res: ServerResponse, text: string): void {
  let message: Message;
  try {
    message = JSON.parse(text) as Message;
  } catch {
    res
      .writeHead(400, { "content-type": "application/json" })
      .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}');
    return;
  }
  if (message.method === "initialize") {
    const session = randomUUID();
    sessions.add(session);
    answer(res, session, message, INITIALIZE);
    return;
  }
  const session = req.headers["mcp-session-id"];
  if (typeof session !== "string" || !sessions.has(session)) {
    res
      .writeHead(404, { "content-type": "application/json" })
      .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
    return;
  }
  if (message.id === undefined) {
    res.writeHead(202).end();
    return;
  }
  answer(res, session, message, resultOf(message));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (!req.url?.startsWith(PATH)) {
    res.writeHead(404).end();
    return;
  }
  const session = req.headers["mcp-session-id"];
  if (req.method === "GET") {
    if (typeof session !== "string" || !sessions.has(session)) res.writeHead(404).end();
    else
      res
        .writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "mcp-session-id": session })
        .flushHeaders();
    return;
  }
  if (req.method === "DELETE") {
    if (typeof session === "string") sessions.delete(session);
    res.writeHead(200).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => post(req, res, Buffer.concat(chunks).toString("utf8")));
}

const server = createServer({ keepAliveTimeout: 120_000 }, handle);
server.listen(0, "127.0.0.1", () =>
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}\n`),
);
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
