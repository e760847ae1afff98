// A TypeScript SDK v2 server speaking MCP 2026-07-28 (stateless: server/discover, per-request
// metadata headers, multi-round-trip requests), served over node:http through the SDK's
// web-standard handler. `deploy` asks for confirmation with an InputRequiredResult before it runs.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { acceptedContent, createMcpHandler, inputRequired, McpServer } from "@modelcontextprotocol/server";

export interface V2Server {
  url: string;
  /** Tool calls that ran (after any confirmation). */
  calls: string[];
  close(): Promise<void>;
}

export async function startV2Server(responseMode: "auto" | "sse" | "json" = "auto"): Promise<V2Server> {
  const calls: string[] = [];
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: "v2-interop", version: "2.0.0" });
    server.registerTool("greet", { description: "Greets", inputSchema: z.object({ who: z.string() }) }, ({ who }) => {
      calls.push("greet");
      return { content: [{ type: "text", text: `hello ${who}` }] };
    });
    server.registerTool("deploy", { description: "Deploys after confirmation", inputSchema: z.object({ env: z.string() }) }, ({ env }, ctx) => {
      const schema = z.object({ confirm: z.boolean() });
      if (acceptedContent(ctx.mcpReq.inputResponses, "confirm", schema)?.confirm !== true) {
        return inputRequired({ inputRequests: { confirm: inputRequired.elicit({ message: `Deploy to ${env}?`, requestedSchema: schema }) } });
      }
      calls.push("deploy");
      return { content: [{ type: "text", text: `deployed to ${env}` }] };
    });
    server.registerTool("wipe", { description: "Dangerous", inputSchema: z.object({}) }, () => {
      calls.push("wipe");
      return { content: [{ type: "text", text: "wiped" }] };
    });
    return server;
  }, { responseMode });

  const http = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      const response = await handler.fetch(new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, { method: req.method, headers, body: req.method === "POST" ? Buffer.concat(chunks) : undefined }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body) for await (const chunk of response.body) res.write(chunk);
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    calls,
    async close() {
      await handler.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
