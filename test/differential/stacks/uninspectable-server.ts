// An MCP upstream double whose tools/list answer a proxy cannot read as sent: gzip-encoded whatever
// the request's Accept-Encoding said, JSON that does not parse, or an SSE event that does not parse.
// Each answer lists the hidden tool, so a proxy that relays it unfiltered shows it to the client.
// The test sets the mode directly (POST /_mode), not through the proxy.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { TOOLS } from "./catalogue.ts";

export type UninspectableMode = "gzip" | "unparseable-json" | "unparseable-sse" | "utf16-json";
export const UNINSPECTABLE_MODES: readonly UninspectableMode[] = [
  "gzip",
  "unparseable-json",
  "unparseable-sse",
  "utf16-json",
];

export interface UninspectableServer {
  readonly url: string;
  setMode(mode: UninspectableMode): Promise<void>;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function toolsList(id: unknown): Json {
  return {
    jsonrpc: "2.0",
    id,
    result: { tools: Object.values(TOOLS).map((name) => ({ name, inputSchema: { type: "object" } })) },
  };
}

function answerToolsList(mode: UninspectableMode, id: unknown, res: ServerResponse): void {
  const text = JSON.stringify(toolsList(id));
  switch (mode) {
    case "gzip":
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end(gzipSync(text));
      return;
    case "unparseable-json":
      res.writeHead(200, { "content-type": "application/json" }).end(`${text.slice(0, -1)},}`);
      return;
    case "unparseable-sse":
      res
        .writeHead(200, { "content-type": "text/event-stream" })
        .end(`event: message\ndata: ${text.slice(0, -1)},}\n\n`);
      return;
    case "utf16-json":
      res.writeHead(200, { "content-type": "application/json; charset=utf-16le" }).end(Buffer.from(text, "utf16le"));
  }
}

export async function startUninspectableServer(): Promise<UninspectableServer> {
  let mode: UninspectableMode = "gzip";
  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    if (req.url === "/_mode") {
      mode = body as UninspectableMode;
      return void res.writeHead(204).end();
    }
    if (req.method === "DELETE") return void res.writeHead(200).end();
    if (req.method !== "POST") return void res.writeHead(405, { allow: "POST, DELETE" }).end();
    let message: Json;
    try {
      message = JSON.parse(body) as Json;
    } catch {
      return void res.writeHead(400).end();
    }
    if (!("id" in message)) return void res.writeHead(202).end();
    if (message.method === "tools/list") return answerToolsList(mode, message.id, res);
    const result =
      message.method === "initialize"
        ? {
            protocolVersion: "2025-03-26",
            capabilities: { tools: {} },
            serverInfo: { name: "uninspectable", version: "1" },
          }
        : {};
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (message.method === "initialize") headers["mcp-session-id"] = randomUUID();
    res.writeHead(200, headers).end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result }));
  };
  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url: `${base}/mcp`,
    async setMode(next) {
      const res = await fetch(`${base}/_mode`, { method: "POST", body: next });
      if (res.status !== 204) throw new Error(`setting the mode failed: ${res.status}`);
    },
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
