// The sidecar's connections to the MCP server: an idle one is closed by the sidecar before the server's
// own idle timeout closes it, whether or not the server announces that timeout (Node does with
// Keep-Alive: timeout=5; uvicorn, FastMCP's server, and SSE answers with an explicit Connection header
// do not). Otherwise a tool call sent just as the server closes the connection would fail with 502.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { describe, it } from "node:test";
import { rawPost, toolCall } from "../support/raw-mcp.ts";
import { KEYS, startProxy } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { eventually } from "../support/eventually.ts";

/** The server's idle timeout: above the sidecar's default (1 s), below what it used to be (30 s). */
const SERVER_IDLE_MS = 3_000;

function upstream(hint: boolean): { server: Server; closes: ("client" | "server")[] } {
  const closes: ("client" | "server")[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      // An explicit Connection header makes Node leave out its Keep-Alive hint, as uvicorn does.
      if (!hint) headers.connection = "keep-alive";
      res
        .writeHead(200, headers)
        .end(JSON.stringify({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "ok" }] } }));
    });
  });
  server.keepAliveTimeout = SERVER_IDLE_MS;
  server.on("connection", (socket: Socket) => {
    let closedBy: "client" | "server" | undefined;
    socket.on("timeout", () => (closedBy ??= "server"));
    socket.on("end", () => (closedBy ??= "client"));
    socket.on("close", () => closes.push(closedBy ?? "server"));
  });
  return { server, closes };
}

describe("upstream connections", () => {
  for (const hint of [true, false]) {
    it(
      `closes an idle upstream connection before the server does (${hint ? "with" : "without"} a Keep-Alive hint)`,
      { timeout: 20_000 },
      async () => {
        const { server, closes } = upstream(hint);
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const proxy = await startProxy(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, {
          policy: mcpPolicy("default: allow"),
          apiKeys: undefined,
        });
        try {
          const answer = await rawPost(proxy.sidecar.url, toolCall(1, "anything"), {
            authorization: `Bearer ${KEYS.alice}`,
          });
          assert.equal(answer.status, 200);
          await eventually(() => closes.length === 1, "the idle connection to close", 15_000);
          assert.deepEqual(closes, ["client"], "the sidecar let go of the idle connection first");
        } finally {
          await proxy.close();
          server.close();
        }
      },
    );
  }
});
