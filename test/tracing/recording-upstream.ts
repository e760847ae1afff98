// An MCP upstream test double that records what it received: every POST's headers and JSON-RPC
// messages, so tests check the trace context the upstream got (traceparent header, params._meta).
// It speaks just enough Streamable HTTP (JSON answers, a session from initialize) for raw requests
// and the TypeScript SDK client through the sidecar; its tools echo their name.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  message: {
    id?: unknown;
    method?: string;
    params?: { name?: string; arguments?: unknown; _meta?: Record<string, unknown> };
  };
}

export interface RecordingUpstream {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** tools/call requests received, in order. */
  calls(tool?: string): ReceivedRequest[];
  close(): Promise<void>;
}

const TOOLS = ["list_flows", "execute_flow", "delete_flow", "search"].map((name) => ({
  name,
  description: name,
  inputSchema: { type: "object" },
}));

/** `record: false` keeps nothing (benchmarks). */
export async function startRecordingUpstream(options: { record?: boolean } = {}): Promise<RecordingUpstream> {
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as
        ReceivedRequest["message"] | ReceivedRequest["message"][];
      const messages = Array.isArray(body) ? body : [body];
      if (options.record ?? true) for (const message of messages) received.push({ headers: req.headers, message });
      const answers = messages.filter((m) => m.id !== undefined && m.method !== undefined).map(answer);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (messages.some((m) => m.method === "initialize")) headers["mcp-session-id"] = randomUUID();
      if (answers.length === 0) res.writeHead(202).end();
      else res.writeHead(200, headers).end(JSON.stringify(Array.isArray(body) ? answers : answers[0]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    received,
    calls: (tool) =>
      received.filter(
        (r) => r.message.method === "tools/call" && (tool === undefined || r.message.params?.name === tool),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(message: ReceivedRequest["message"]): unknown {
  const { id, method, params } = message;
  switch (method) {
    case "initialize":
      return {
        jsonrpc: "2.0",
        id,
        result: {
          protocolVersion: "2025-06-18",
          capabilities: { tools: {} },
          serverInfo: { name: "recording", version: "1" },
        },
      };
    case "tools/list":
      return { jsonrpc: "2.0", id, result: { tools: TOOLS } };
    case "tools/call":
      return { jsonrpc: "2.0", id, result: { content: [{ type: "text", text: `called ${params?.name}` }] } };
    case "ping":
      return { jsonrpc: "2.0", id, result: {} };
    default:
      return { jsonrpc: "2.0", id, error: { code: -32601, message: `Method not found: ${method}` } };
  }
}
