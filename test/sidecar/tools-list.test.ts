// tools/list through the sidecar: every page of a paginated list is filtered, JSON or SSE, the cursor
// and every field the sidecar does not know survive, and one upstream session serves all calls.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { KEYS, startHarness, startProxy } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { messagesOf, rawInitialize, rawPost } from "../support/raw-mcp.ts";

const TOOLS = ["alpha", "secret_a", "beta", "secret_b", "gamma", "delta"].map((name) => ({
  name,
  description: `${name} tool`,
  inputSchema: { type: "object" as const, properties: {} },
  annotations: { readOnlyHint: true },
  "x-vendor-extension": { owner: "platform" },
}));

/** An upstream whose tools/list comes in pages of two. */
async function pagedServer(answers: "sse" | "json") {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((req, res) => {
    void (async () => {
      const session = req.headers["mcp-session-id"];
      let transport = typeof session === "string" ? transports.get(session) : undefined;
      if (!transport) {
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: answers === "json",
          onsessioninitialized: (id) => void transports.set(id, created),
        });
        const server = new Server({ name: "paged", version: "1" }, { capabilities: { tools: {} } });
        server.setRequestHandler(ListToolsRequestSchema, (request) => {
          const start = Number(request.params?.cursor ?? 0);
          const next = start + 2;
          return {
            tools: TOOLS.slice(start, next),
            ...(next < TOOLS.length ? { nextCursor: String(next) } : {}),
            _meta: { page: start / 2 },
          };
        });
        await server.connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: async () => {
      await Promise.all([...transports.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

describe("tools/list filtering", () => {
  for (const answers of ["sse", "json"] as const) {
    it(`filters every page of a paginated list and keeps cursors and unknown fields (${answers})`, async () => {
      const upstream = await pagedServer(answers);
      const proxy = await startProxy(upstream.url, { policy: mcpPolicy("default: allow\nhide: ['secret_*']") });
      try {
        const client = await proxy.client(KEYS.alice);
        const pages = [];
        let cursor: string | undefined;
        do {
          const page = await client.listTools(cursor === undefined ? {} : { cursor });
          pages.push(page);
          cursor = page.nextCursor;
        } while (cursor !== undefined);
        assert.deepEqual(
          pages.map((p) => p.tools.map((t) => t.name)),
          [["alpha"], ["beta"], ["gamma", "delta"]],
        );
        assert.deepEqual(
          pages.map((p) => p.nextCursor),
          ["2", "4", undefined],
        );
        assert.deepEqual(
          pages.map((p) => p._meta),
          [{ page: 0 }, { page: 1 }, { page: 2 }],
        );
        // On the wire (the SDK client would drop fields it does not know): the same page, minus the hidden tool.
        const direct = await rawPost(
          upstream.url,
          { jsonrpc: "2.0", id: 1, method: "tools/list" },
          { "mcp-session-id": await rawInitialize(upstream.url) },
        );
        const auth = { authorization: `Bearer ${KEYS.alice}` };
        const proxied = await rawPost(
          proxy.sidecar.url,
          { jsonrpc: "2.0", id: 1, method: "tools/list" },
          { ...auth, "mcp-session-id": await rawInitialize(proxy.sidecar.url, auth) },
        );
        const directResult = messagesOf(direct)[0]?.result as { tools: { name: string }[] };
        assert.ok(JSON.stringify(directResult).includes("x-vendor-extension"));
        assert.deepEqual(messagesOf(proxied)[0]?.result, {
          ...directResult,
          tools: directResult.tools.filter((t) => t.name !== "secret_a"),
        });
      } finally {
        await proxy.close();
        await upstream.close();
      }
    });
  }

  it("uses one upstream session per client session, however many calls pass", async () => {
    const h = await startHarness({ policy: mcpPolicy("default: allow") });
    try {
      const a = await h.client(KEYS.alice);
      const b = await h.client(KEYS.bob);
      for (let i = 0; i < 20; i++) await (i % 2 ? a : b).callTool({ name: "list_namespaces", arguments: {} });
      await h.catalogued();
      assert.equal(h.upstream.sessionCount, 3, "one per client session, and the sidecar's own (listing tools)");
      assert.equal(new Set(h.upstream.calls.map((c) => c.sessionId)).size, 2);
    } finally {
      await h.close();
    }
  });
});
