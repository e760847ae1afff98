// A TypeScript SDK v2 server speaking MCP 2026-07-28 (stateless: server/discover, per-request
// metadata headers, multi-round-trip requests), served over node:http through the SDK's
// web-standard handler. `deploy` asks for confirmation with an InputRequiredResult before it runs.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { acceptedContent, createMcpHandler, inputRequired, McpServer } from "@modelcontextprotocol/server";

export interface V2Server {
  url: string;
  /** Tool calls that ran (after any confirmation); "wait:cancelled" when a `wait` call was cancelled. */
  calls: string[];
  /** Resolves when a `wait` call has started. */
  waiting: Promise<void>;
  close(): Promise<void>;
}

export async function startV2Server(responseMode: "auto" | "sse" | "json" = "auto"): Promise<V2Server> {
  const calls: string[] = [];
  let markWaiting!: () => void;
  const waiting = new Promise<void>((resolve) => (markWaiting = resolve));
  const handler = createMcpHandler(
    () => {
      // Lists declared shareable by any cache: a sidecar that filters them must make them private.
      const shared = { ttlMs: 60_000, cacheScope: "public" as const };
      const server = new McpServer(
        { name: "v2-interop", version: "2.0.0" },
        { cacheHints: { "tools/list": shared, "resources/list": shared, "prompts/list": shared } },
      );
      registerResourcesAndPrompts(server, calls);
      server.registerTool("greet", { description: "Greets", inputSchema: z.object({ who: z.string() }) }, ({ who }) => {
        calls.push("greet");
        return { content: [{ type: "text", text: `hello ${who}` }] };
      });
      server.registerTool(
        "deploy",
        { description: "Deploys after confirmation", inputSchema: z.object({ env: z.string() }) },
        ({ env }, ctx) => {
          const schema = z.object({ confirm: z.boolean() });
          if (acceptedContent(ctx.mcpReq.inputResponses, "confirm", schema)?.confirm !== true) {
            return inputRequired({
              inputRequests: {
                confirm: inputRequired.elicit({ message: `Deploy to ${env}?`, requestedSchema: schema }),
              },
            });
          }
          calls.push("deploy");
          return { content: [{ type: "text", text: `deployed to ${env}` }] };
        },
      );
      server.registerTool(
        "wait",
        { description: "Waits until cancelled (at most 10 s)", inputSchema: z.object({}) },
        async (_args, ctx) => {
          markWaiting();
          const signal = ctx.mcpReq.signal;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 10_000);
            signal.addEventListener("abort", () => {
              clearTimeout(timer);
              resolve();
            });
          });
          calls.push(signal.aborted ? "wait:cancelled" : "wait:done");
          return { content: [{ type: "text", text: "waited" }] };
        },
      );
      server.registerTool("wipe", { description: "Dangerous", inputSchema: z.object({}) }, () => {
        calls.push("wipe");
        return { content: [{ type: "text", text: "wiped" }] };
      });
      return server;
    },
    { responseMode },
  );

  const http = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      // Closing the response is how a 2026-07-28 client cancels: the request's signal carries it.
      const abort = new AbortController();
      res.on("close", () => {
        if (!res.writableFinished) abort.abort();
      });
      const response = await handler.fetch(
        new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
          method: req.method,
          headers,
          body: req.method === "POST" ? Buffer.concat(chunks) : undefined,
          signal: abort.signal,
        }),
      );
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body) for await (const chunk of response.body) res.write(chunk);
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    calls,
    waiting,
    async close() {
      await handler.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Resources and prompts (each read or get that ran is recorded in `calls`); `kb://confirmed` asks for input first. */
function registerResourcesAndPrompts(server: McpServer, calls: string[]): void {
  const shared = { ttlMs: 60_000, cacheScope: "public" as const };
  for (const uri of ["kb://public/readme", "kb://secret/keys", "kb://internal/plan"]) {
    server.registerResource(uri, uri, { mimeType: "text/plain", cacheHint: shared }, () => {
      calls.push(`read:${uri}`);
      return { contents: [{ uri, mimeType: "text/plain", text: `contents of ${uri}` }] };
    });
  }
  server.registerResource(
    "kb://confirmed",
    "kb://confirmed",
    { mimeType: "text/plain", cacheHint: shared },
    (_uri, ctx) => {
      const schema = z.object({ confirm: z.boolean() });
      if (acceptedContent(ctx.mcpReq.inputResponses, "confirm", schema)?.confirm !== true) {
        return inputRequired({
          inputRequests: { confirm: inputRequired.elicit({ message: "Read it?", requestedSchema: schema }) },
        });
      }
      calls.push("read:kb://confirmed");
      return { contents: [{ uri: "kb://confirmed", mimeType: "text/plain", text: "confirmed contents" }] };
    },
  );
  for (const name of ["summarise", "internal-debug", "exfiltrate"]) {
    server.registerPrompt(name, { description: name, argsSchema: z.object({ topic: z.string() }) }, ({ topic }) => {
      calls.push(`prompt:${name}`);
      return { messages: [{ role: "user", content: { type: "text", text: `${name} ${topic}` } }] };
    });
  }
}
