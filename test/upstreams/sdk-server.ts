// A TypeScript SDK (v1) McpServer in each serving mode the SDK offers: stateful or stateless, SSE or
// JSON answers. Deterministic answers (no event ids), so direct and proxied exchanges can be compared
// byte for byte.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

export interface SdkServerMode {
  stateful: boolean;
  answers: "sse" | "json";
}

export interface SdkServer {
  url: string;
  close(): Promise<void>;
}

function build(): McpServer {
  const server = new McpServer({ name: "sdk-interop", version: "1.0.0" }, { capabilities: { logging: {} } });
  server.registerTool("echo", { description: "Echoes", inputSchema: { message: z.string() } }, ({ message }) => ({
    content: [{ type: "text", text: message }],
  }));
  server.registerTool(
    "weather",
    {
      description: "Structured weather",
      inputSchema: { city: z.string() },
      outputSchema: { city: z.string(), celsius: z.number() },
    },
    ({ city }) => {
      const data = { city, celsius: 21.5 };
      return { content: [{ type: "text", text: JSON.stringify(data) }], structuredContent: data };
    },
  );
  server.registerTool("wipe_disk", { description: "Dangerous", inputSchema: {} }, () => ({
    content: [{ type: "text", text: "wiped" }],
  }));
  server.registerResource("readme", "docs://readme", { mimeType: "text/markdown" }, (uri) => ({
    contents: [{ uri: uri.href, text: "# Readme\nUnicode: ✓ — «ok»" }],
  }));
  server.registerPrompt(
    "review",
    { description: "Review code", argsSchema: { language: z.string() } },
    ({ language }) => ({
      messages: [{ role: "user", content: { type: "text", text: `Review this ${language} code.` } }],
    }),
  );
  return server;
}

export async function startSdkServer(mode: SdkServerMode): Promise<SdkServer> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const session = req.headers["mcp-session-id"];
    if (mode.stateful && typeof session === "string") {
      const t = transports.get(session);
      if (!t) {
        res
          .writeHead(404, { "content-type": "application/json" })
          .end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
        return;
      }
      await t.handleRequest(req, res);
      return;
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: mode.stateful ? () => randomUUID() : undefined,
      enableJsonResponse: mode.answers === "json",
      onsessioninitialized: (id) => void transports.set(id, transport),
    });
    const server = build();
    if (!mode.stateful) res.on("close", () => void transport.close().then(() => server.close()));
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };
  const http = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    async close() {
      await Promise.all([...transports.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
