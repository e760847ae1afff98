// Stack (a): the TypeScript SDK's Express app (`createMcpExpressApp()`: express.json, i.e. body-parser,
// which honours the request's charset and Content-Encoding) with one stateful
// StreamableHTTPServerTransport per session. Each tool execution appends one JSON line (tool name and
// the arguments exactly as zod parsed them) to the record file.
//
//   node test/differential/stacks/ts-express-server.ts <record-file> [answer-padding] [json|sse] [action-wait-ms]   → prints READY <url>
import { randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { ACTION_WAIT_MS, TOOLS } from "./catalogue.ts";

type Handler = (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => void;
/** The part of Express this server uses (the SDK's declaration names Express, whose types are not installed). */
interface ExpressApp {
  post(path: string, handler: Handler): void;
  get(path: string, handler: Handler): void;
  delete(path: string, handler: Handler): void;
  listen(port: number, host: string, ready: () => void): Server;
}

const recordFile = process.argv[2];
/** resume_execution's answer grows by this many characters (a tool whose output is large). */
const answerPadding = Number(process.argv[3] ?? 0);
/** "json": POSTs are answered with one JSON body when the answer is ready, instead of an SSE stream. */
const jsonResponse = process.argv[4] === "json";
/** How long resume_execution waits for the action it started. */
const actionWaitMs = Number(process.argv[5] ?? ACTION_WAIT_MS);
if (!recordFile) throw new Error("usage: ts-express-server.ts <record-file>");

/** JSON.rawJSON (Node 24), which TypeScript's es2024 library does not declare yet. */
const rawJSON = (JSON as unknown as { rawJSON: (this: void, text: string) => unknown }).rawJSON;

/** Integers a double holds only approximately are written exactly, so the record says what zod read. */
function exactJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v) ? rawJSON(BigInt(v).toString()) : v,
  );
}

function record(tool: string, args: Record<string, unknown>) {
  appendFileSync(recordFile as string, `${exactJson({ tool, arguments: args })}\n`);
  return { content: [{ type: "text" as const, text: `${tool} ran` }] };
}

function build(): McpServer {
  const server = new McpServer({ name: "differential-ts-express", version: "1.0.0" });
  const id = { execution_id: z.string() };
  server.registerTool(TOOLS.list, { inputSchema: { namespace: z.string() } }, (args) => record(TOOLS.list, args));
  // Like a real action tool (Kestra's): the action is started, then its completion awaited.
  server.registerTool(TOOLS.limited, { inputSchema: id }, async (args) => {
    const done = record(TOOLS.limited, args);
    done.content[0]!.text += " ".repeat(answerPadding);
    await new Promise((r) => setTimeout(r, actionWaitMs));
    return done;
  });
  server.registerTool(TOOLS.denied, { inputSchema: id }, (args) => record(TOOLS.denied, args));
  server.registerTool(TOOLS.hidden, { inputSchema: id }, (args) => record(TOOLS.hidden, args));
  server.registerTool(TOOLS.flagged, { inputSchema: { namespace: z.string(), auto_create: z.boolean() } }, (args) =>
    record(TOOLS.flagged, args),
  );
  server.registerTool(TOOLS.targets, { inputSchema: { execution_ids: z.array(z.string()) } }, (args) =>
    record(TOOLS.targets, args),
  );
  server.registerTool(TOOLS.counted, { inputSchema: { count: z.number().int() } }, (args) =>
    record(TOOLS.counted, args),
  );
  server.registerTool(TOOLS.formatted, { inputSchema: { source: z.string() } }, (args) =>
    record(TOOLS.formatted, args),
  );
  return server;
}

const transports = new Map<string, StreamableHTTPServerTransport>();
const app = createMcpExpressApp() as unknown as ExpressApp;

const handle: Handler = (req, res) => {
  const session = req.headers["mcp-session-id"];
  const known = typeof session === "string" ? transports.get(session) : undefined;
  if (typeof session === "string" && !known) {
    res
      .writeHead(404, { "content-type": "application/json" })
      .end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
    return;
  }
  const serve = async () => {
    if (known) return known.handleRequest(req, res, req.body);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: jsonResponse,
      onsessioninitialized: (id) => void transports.set(id, transport),
      onsessionclosed: (id) => void transports.delete(id),
    });
    await build().connect(transport);
    await transport.handleRequest(req, res, req.body);
  };
  serve().catch(() => res.destroy());
};
app.post("/mcp", handle);
app.get("/mcp", handle);
app.delete("/mcp", handle);
const http = app.listen(0, "127.0.0.1", () =>
  process.stdout.write(`READY http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp\n`),
);
process.once("SIGTERM", () => {
  http.closeAllConnections();
  http.close(() => process.exit(0));
});
