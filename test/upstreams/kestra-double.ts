// A Kestra-compatible MCP upstream for tests, the demo and benchmarks: the 39 tools of the Kestra
// Python MCP server (test/fixtures/kestra-tools-list.json) over Streamable HTTP, served by the
// TypeScript SDK's StreamableHTTPServerTransport. It uses the SDK's low-level `Server` rather than
// `McpServer` so `tools/list` carries the fixture's JSON Schemas verbatim (McpServer regenerates them
// from zod). Arguments are validated against those schemas and bad ones come back as `isError`
// results, as Kestra's server does; only protocol problems are JSON-RPC errors.
//
//   const kestra = await startKestraDouble({ answers: "sse" });   // kestra.url → http://127.0.0.1:PORT/mcp
//   kestra.calls        // every tools/call that reached it: {tool, arguments, sessionId, authorization}
//   kestra.failNext("resume_execution", "rpc_error")            // or "http_500", "disconnect"
//   await kestra.close();
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Ajv } from "ajv";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { InMemoryEventStore } from "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { PROBE_PREFIX } from "../../sidecar/enforcement/missing-tool-answer.ts";
import { kestraResult, logLines, type ToolArguments } from "./kestra-results.ts";

export interface KestraDoubleOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  path?: string;
  /** FastMCP (and so Kestra) answers requests as SSE by default; "json" answers application/json. */
  answers?: "sse" | "json";
  /** Stateful sessions (Mcp-Session-Id), as FastMCP runs by default. false: the SDK's stateless mode. */
  sessions?: boolean;
  /** Keep events for Last-Event-ID resumption (priming events for clients on 2025-11-25). */
  resumable?: boolean;
  /** "docstring" lengthens descriptions to the size of the real server's tools/list (about 42 KB). */
  descriptions?: "fixture" | "docstring";
  /** Executions in a `list_executions` answer when no `count` is given (13 ≈ 24 KB on the wire). */
  executionsPerPage?: number;
}

export interface RecordedCall {
  tool: string;
  arguments: ToolArguments;
  sessionId: string | undefined;
  /** The Authorization header the upstream received, if any (a proxy must never forward the caller's). */
  authorization: string | undefined;
}

export type Failure = "rpc_error" | "http_500" | "disconnect";

export interface KestraDouble {
  readonly url: string;
  readonly port: number;
  /** The most recent 1,000 tool calls that reached the server. */
  readonly calls: RecordedCall[];
  /** How many calls of `tool` reached the server in all (not bounded like `calls`). */
  executions(tool: string): number;
  /** Headers of the most recent 1,000 HTTP requests. */
  readonly requests: { method: string; headers: IncomingMessage["headers"] }[];
  /** Open sessions (stateful mode). */
  readonly sessionCount: number;
  /** Makes the next call of `tool` fail the given way. */
  failNext(tool: string, failure: Failure): void;
  close(): Promise<void>;
}

const FIXTURE = new URL("../fixtures/kestra-tools-list.json", import.meta.url);
const RECORD_LIMIT = 1000;

export function kestraTools(descriptions: "fixture" | "docstring" = "fixture"): Tool[] {
  const { tools } = JSON.parse(readFileSync(FIXTURE, "utf8")) as { tools: Tool[] };
  return descriptions === "fixture" ? tools : tools.map((t) => ({ ...t, description: docstring(t) }));
}

export async function startKestraDouble(options: KestraDoubleOptions = {}): Promise<KestraDouble> {
  const path = options.path ?? "/mcp";
  const stateful = options.sessions ?? true;
  const tools = kestraTools(options.descriptions);
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validators = new Map(tools.map((t) => [t.name, ajv.compile(t.inputSchema)]));
  const calls: RecordedCall[] = [];
  const executed = new Map<string, number>();
  const requests: KestraDouble["requests"] = [];
  const failures = new Map<string, Failure>();
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const executionsPerPage = options.executionsPerPage ?? 13;

  const newServer = (): Server => {
    const server = new Server(
      { name: "kestra-mcp-double", version: "1.0.0" },
      { capabilities: { tools: { listChanged: true }, logging: {} } },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const { name } = request.params;
      const args = request.params.arguments ?? {};
      const headers = extra.requestInfo?.headers ?? {};
      // The sidecar's own session asks for a tool that cannot exist, to learn how a missing tool is
      // answered: not an agent's call, and nothing runs, so it is answered but not recorded.
      if (!validators.has(name) && name.startsWith(PROBE_PREFIX)) return unknownTool(name);
      record(calls, {
        tool: name,
        arguments: args,
        sessionId: extra.sessionId,
        authorization: headers.authorization as string | undefined,
      });
      executed.set(name, (executed.get(name) ?? 0) + 1);
      const validate = validators.get(name);
      // FastMCP 3 answers an unknown tool with a tool error, not a JSON-RPC error.
      if (!validate) return unknownTool(name);
      if (failures.get(name) === "rpc_error") {
        failures.delete(name);
        throw new McpError(ErrorCode.InternalError, `Kestra API unavailable while running ${name}`);
      }
      if (!validate(args)) {
        const problems = (validate.errors ?? []).map(
          (e) => `${e.instancePath || "(arguments)"} ${e.message ?? "is invalid"}`,
        );
        return {
          isError: true,
          content: [
            { type: "text", text: `${problems.length} validation error(s) for ${name}: ${problems.join("; ")}` },
          ],
        };
      }
      if (name === "follow_execution_logs") {
        for (const line of logLines(typeof args.execution_id === "string" ? args.execution_id : "unknown", 3)) {
          await extra.sendNotification({
            method: "notifications/message",
            params: { level: "info", logger: "kestra", data: line },
          });
        }
      }
      const result = kestraResult(name, args, { executionsPerPage });
      const withOutput = tools.find((t) => t.name === name)?.outputSchema !== undefined;
      return {
        content: [{ type: "text", text: JSON.stringify(result) }],
        ...(withOutput ? { structuredContent: result } : {}),
      };
    });
    return server;
  };

  const newTransport = (): StreamableHTTPServerTransport => {
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: stateful ? () => randomUUID() : undefined,
      enableJsonResponse: options.answers === "json",
      eventStore: options.resumable ? new InMemoryEventStore() : undefined,
      onsessioninitialized: (id) => void transports.set(id, transport),
      onsessionclosed: (id) => void transports.delete(id),
    });
    return transport;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    record(requests, { method: req.method ?? "", headers: req.headers });
    if (new URL(req.url ?? "/", "http://x").pathname !== path) {
      res.writeHead(404).end();
      return;
    }
    let body: unknown;
    if (req.method === "POST") {
      const text = await readBody(req);
      try {
        body = JSON.parse(text);
      } catch {
        res
          .writeHead(400, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }));
        return;
      }
      const failure = pendingHttpFailure(body, failures);
      if (failure === "http_500") {
        res.writeHead(500, { "content-type": "text/plain" }).end("internal server error");
        return;
      }
      if (failure === "disconnect") {
        req.socket.destroy();
        return;
      }
    }
    const sessionId = req.headers["mcp-session-id"];
    if (stateful && typeof sessionId === "string") {
      const transport = transports.get(sessionId);
      if (!transport) {
        res
          .writeHead(404, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }));
        return;
      }
      await transport.handleRequest(req, res, body);
      return;
    }
    const transport = newTransport();
    const server = newServer();
    if (!stateful) res.on("close", () => void transport.close().then(() => server.close()));
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http: HttpServer = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;

  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}${path}`,
    port,
    calls,
    executions: (tool) => executed.get(tool) ?? 0,
    requests,
    get sessionCount() {
      return transports.size;
    },
    failNext: (tool, failure) => void failures.set(tool, failure),
    async close() {
      await Promise.all([...transports.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function pendingHttpFailure(body: unknown, failures: Map<string, Failure>): Failure | undefined {
  const messages = Array.isArray(body) ? body : [body];
  for (const m of messages as { method?: unknown; params?: { name?: unknown } }[]) {
    if (m?.method !== "tools/call" || typeof m.params?.name !== "string") continue;
    const failure = failures.get(m.params.name);
    if (failure === "http_500" || failure === "disconnect") {
      failures.delete(m.params.name);
      return failure;
    }
  }
  return undefined;
}

function record<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > RECORD_LIMIT) list.shift();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A docstring-length description (Args/Returns sections), as FastMCP publishes the real tools'. */
function docstring(tool: Tool): string {
  const props = Object.entries(
    (tool.inputSchema.properties ?? {}) as Record<string, { type?: string; enum?: unknown[]; default?: unknown }>,
  );
  const args = props.map(([name, schema]) => {
    const type = schema.type ?? "string | null";
    const choices = schema.enum ? ` One of: ${schema.enum.map(String).join(", ")}.` : "";
    const fallback = "default" in schema ? ` Defaults to ${JSON.stringify(schema.default)}.` : " Required.";
    return `    ${name} (${type}): The ${name.replaceAll("_", " ")} this operation applies to in Kestra.${choices}${fallback}`;
  });
  return [
    tool.description ?? "",
    "",
    "Calls the Kestra API with the server's tenant and credentials; Kestra errors come back as tool errors.",
    "",
    "Args:",
    ...args,
    "",
    "Returns:",
    "    dict: The Kestra API response, with ids, namespaces, states and timestamps as Kestra reports them.",
  ].join("\n");
}

/** FastMCP 3's answer for a tool it does not have: a tool error, not a JSON-RPC error. */
function unknownTool(name: string) {
  return { isError: true, content: [{ type: "text" as const, text: `Unknown tool: '${name}'` }] };
}
