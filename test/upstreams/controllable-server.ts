// A small MCP upstream (TypeScript SDK McpServer) whose timing the test controls, to prove streaming
// properties through the proxy: `gate` sends a progress notification and then waits until the test
// opens the gate; `sleep` answers after `ms` milliseconds; `ask` elicits input from the client;
// `announce` makes the server send notifications/tools/list_changed on the standalone GET stream.
// It also counts HTTP requests whose client (the proxy) went away before the answer was complete.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { InMemoryEventStore } from "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js";

export interface ControllableServer {
  url: string;
  /** Opens the gate `gate` calls wait on. */
  open(): void;
  /** Resolves when a `gate` call has started (sent its progress notification). */
  started: Promise<void>;
  /** Set when the client cancelled a `gate` call. */
  cancelled: boolean;
  /** HTTP requests whose connection closed before their answer was complete. */
  readonly abortedRequests: number;
  /** `sleep` calls that finished (answered) so far. */
  readonly slept: number;
  close(): Promise<void>;
}

export interface ControllableServerOptions {
  answers?: "sse" | "json";
  resumable?: boolean;
  /** 0 (default) picks a free port. */
  port?: number;
}

export async function startControllableServer(options: ControllableServerOptions = {}): Promise<ControllableServer> {
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const state = { cancelled: false, abortedRequests: 0, slept: 0 };
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const servers: McpServer[] = [];

  const newServer = () => {
    const server = new McpServer(
      { name: "controllable", version: "1.0.0" },
      { capabilities: { tools: { listChanged: true } } },
    );
    server.registerTool("gate", { description: "Waits for the test", inputSchema: {} }, async (_args, extra) => {
      const token = extra._meta?.progressToken;
      if (token !== undefined)
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress: 1, total: 2, message: "started" },
        });
      markStarted();
      await Promise.race([
        gate,
        new Promise<void>((resolve) => extra.signal.addEventListener("abort", () => resolve())),
      ]);
      if (extra.signal.aborted) state.cancelled = true;
      return { content: [{ type: "text", text: "gate passed" }] };
    });
    server.registerTool(
      "sleep",
      { description: "Answers after ms milliseconds", inputSchema: { ms: z.number().int().min(0) } },
      async ({ ms }, extra) => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          extra.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        state.slept++;
        return { content: [{ type: "text", text: `slept ${ms} ms` }] };
      },
    );
    server.registerTool(
      "ask",
      { description: "Asks the user", inputSchema: { question: z.string() } },
      async ({ question }) => {
        const answer = await server.server.elicitInput({
          mode: "form",
          message: question,
          requestedSchema: { type: "object", properties: { reply: { type: "string" } }, required: ["reply"] },
        });
        return { content: [{ type: "text", text: `${answer.action}: ${JSON.stringify(answer.content ?? {})}` }] };
      },
    );
    server.registerTool("announce", { description: "Announces a tools change", inputSchema: {} }, () => {
      server.sendToolListChanged();
      return { content: [{ type: "text", text: "announced" }] };
    });
    servers.push(server);
    return server;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    res.once("close", () => {
      if (!res.writableFinished) state.abortedRequests++;
    });
    const session = req.headers["mcp-session-id"];
    let transport = typeof session === "string" ? transports.get(session) : undefined;
    if (typeof session === "string" && !transport) {
      res.writeHead(404).end();
      return;
    }
    if (!transport) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: options.answers === "json",
        eventStore: options.resumable ? new InMemoryEventStore() : undefined,
        onsessioninitialized: (id) => void transports.set(id, created),
      });
      transport = created;
      await newServer().connect(created);
    }
    await transport.handleRequest(req, res);
  };
  const http = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    open: () => openGate(),
    started,
    get cancelled() {
      return state.cancelled;
    },
    get abortedRequests() {
      return state.abortedRequests;
    },
    get slept() {
      return state.slept;
    },
    async close() {
      openGate();
      await Promise.all([...transports.values()].map((t) => t.close()));
      await Promise.all(servers.map((s) => s.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
