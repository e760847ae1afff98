// An MCP upstream (the TypeScript SDK's low-level Server, stateful Streamable HTTP) whose tools/list the
// test controls: which tools each client sees (by its User-Agent, so the sidecar's own session and the
// agents' can be told apart), in pages of `pageSize`, and when the server says its list changed. Its
// tools do nothing but record their calls, which is what tests judge the sidecar by.
//
//   const upstream = await startToolListServer({ tools: [tool("a")] });
//   upstream.tools = [...];  await upstream.announce();   // notifications/tools/list_changed
//   upstream.calls                                         // every tools/call that reached it
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

export interface ListedTool {
  name: string;
  inputSchema: object;
  description?: string;
  title?: string;
  annotations?: object;
}

export interface ToolListServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  tools?: ListedTool[];
  pageSize?: number;
  /** The tools a client sees, by its request headers; defaults to `tools` for everyone. */
  toolsFor?: (headers: IncomingHttpHeaders, tools: ListedTool[]) => ListedTool[];
}

export interface ToolListServer {
  readonly url: string;
  readonly port: number;
  tools: ListedTool[];
  /** "tools/list <cursor>" per page served, and "DELETE" per session ended. */
  readonly seen: string[];
  readonly calls: { tool: string; arguments: Record<string, unknown> }[];
  /** Tells every session its tool list changed. */
  announce(): Promise<void>;
  close(): Promise<void>;
}

/** A tool with one argument `flag` of the given type, and nothing else accepted. */
export function flagTool(name: string, type = "boolean"): ListedTool {
  return { name, inputSchema: { type: "object", properties: { flag: { type } }, additionalProperties: false } };
}

export async function startToolListServer(options: ToolListServerOptions = {}): Promise<ToolListServer> {
  const seen: string[] = [];
  const calls: ToolListServer["calls"] = [];
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: Server }>();
  const state = { tools: options.tools ?? [] };
  const pageSize = options.pageSize ?? 100;
  const http: HttpServer = createServer((req, res) => {
    void (async () => {
      if (req.method === "DELETE") seen.push("DELETE");
      const id = req.headers["mcp-session-id"];
      const existing = typeof id === "string" ? sessions.get(id) : undefined;
      if (typeof id === "string" && !existing) {
        res.writeHead(404).end();
        return;
      }
      if (existing) return existing.transport.handleRequest(req, res);
      const headers = req.headers;
      const server = new Server(
        { name: "tool-list-server", version: "1.0.0" },
        { capabilities: { tools: { listChanged: true } } },
      );
      server.setRequestHandler(ListToolsRequestSchema, (request) => {
        const start = Number(request.params?.cursor ?? 0);
        seen.push(`tools/list ${start}`);
        const visible = options.toolsFor ? options.toolsFor(headers, state.tools) : state.tools;
        const next = start + pageSize;
        return { tools: visible.slice(start, next), ...(next < visible.length ? { nextCursor: String(next) } : {}) };
      });
      server.setRequestHandler(CallToolRequestSchema, (request) => {
        // Like the SDK's McpServer, a tool it does not have runs nothing (the sidecar asks for one to
        // learn how a missing tool is answered).
        if (!state.tools.some((t) => t.name === request.params.name))
          return { isError: true, content: [{ type: "text", text: `Tool ${request.params.name} not found` }] };
        calls.push({ tool: request.params.name, arguments: request.params.arguments ?? {} });
        return { content: [{ type: "text", text: `ran ${request.params.name}` }] };
      });
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => void sessions.set(sid, { transport, server }),
        onsessionclosed: (sid) => void sessions.delete(sid),
      });
      await server.connect(transport);
      await transport.handleRequest(req, res);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    get tools() {
      return state.tools;
    },
    set tools(value) {
      state.tools = value;
    },
    seen,
    calls,
    async announce() {
      await Promise.all([...sessions.values()].map((s) => s.server.sendToolListChanged()));
    },
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.transport.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
