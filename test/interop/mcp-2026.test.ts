// MCP 2026-07-28 (stateless) through the sidecar, with the TypeScript SDK v2 client and server: every
// request carries its own metadata headers, and a tool can ask for input (InputRequiredResult) and be
// retried with the answers. The sidecar decides every call and retry on the body, rejects headers that
// disagree with it, and refunds a call that only asked for input.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { rawPost } from "../support/raw-mcp.ts";
import { startV2Server, type V2Server } from "../upstreams/sdk-v2-server.ts";

const POLICY = mcpPolicy(`
default: deny
hide: [wipe]
tools:
  - name: wait
  - name: greet
    denyIf: ["args.who == 'mallory'"]
  - name: deploy
    limits: [{counter: deploys, window: minute, max: 1}]
`);
const MODERN = "2026-07-28";

async function connect(url: string, key?: string): Promise<Client> {
  const client = new Client(
    { name: "v2-agent", version: "1.0.0" },
    { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: MODERN } } },
  );
  client.setRequestHandler("elicitation/create", () => ({ action: "accept", content: { confirm: true } }));
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: key ? { authorization: `Bearer ${key}` } : {} },
    }),
  );
  return client;
}

const meta = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};
const modernCall = (name: string, args: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id: 9,
  method: "tools/call",
  params: { name, arguments: args, _meta: meta },
});

for (const responseMode of ["auto", "sse"] as const) {
  describe(
    `MCP 2026-07-28: SDK v2 client ↔ sidecar ↔ SDK v2 server (${responseMode} answers)`,
    { timeout: 60_000 },
    () => {
      let server: V2Server;
      let proxy: ProxyHarness;
      before(async () => {
        server = await startV2Server(responseMode);
        proxy = await startProxy(server.url, { policy: POLICY });
        await proxy.catalogued();
      });
      after(async () => {
        await proxy?.close();
        await server?.close();
      });

      it("negotiates 2026-07-28 and gives the same answers directly and through the sidecar", async () => {
        const direct = await connect(server.url);
        const proxied = await connect(proxy.sidecar.url, KEYS.alice);
        assert.deepEqual(
          await proxied.callTool({ name: "greet", arguments: { who: "ada" } }),
          await direct.callTool({ name: "greet", arguments: { who: "ada" } }),
        );
        const [a, b] = [(await proxied.listTools()).tools, (await direct.listTools()).tools];
        assert.deepEqual(
          a,
          b.filter((t) => t.name !== "wipe"),
        );
        await direct.close();
        await proxied.close();
      });

      it("shows the v2 client denials and hidden tools in the shapes it expects", async () => {
        const client = await connect(proxy.sidecar.url, KEYS.alice);
        const denied = await client.callTool({ name: "greet", arguments: { who: "mallory" } });
        assert.equal(denied.isError, true);
        assert.match(JSON.stringify(denied.content), /\[POLICY DENIED\] Call to 'greet' denied by policy/);
        // Hidden: answered as the v2 server answers a tool it does not have (a JSON-RPC error).
        const hidden = (await client.callTool({ name: "wipe", arguments: {} }).catch((e: unknown) => e)) as {
          code?: number;
          message?: string;
        };
        const missing = (await client.callTool({ name: "no_such_tool", arguments: {} }).catch((e: unknown) => e)) as {
          code?: number;
          message?: string;
        };
        assert.match(String(hidden.message), /Tool wipe not found/);
        assert.deepEqual(
          [hidden.code, hidden.message],
          [missing.code, missing.message?.replaceAll("no_such_tool", "wipe")],
        );
        assert.equal(server.calls.includes("wipe"), false);
        await client.close();
      });

      it("decides the first call and the retry of a multi-round-trip request, refunding the one that only asked for input", async () => {
        const client = await connect(proxy.sidecar.url, KEYS.bob);
        const result = await client.callTool({ name: "deploy", arguments: { env: "prod" } });
        assert.deepEqual(result.content, [{ type: "text", text: "deployed to prod" }]);
        const lines = proxy.logs.auditLines.filter(
          (l) => l.tool === "deploy" && (l.caller as { grant: string }).grant === "apikey:bob",
        );
        assert.deepEqual(
          lines.map((l) => [l.decision, l.upstreamOutcome, l.refunded]),
          [
            ["allowed", "input_required", true],
            ["allowed", "ok", false],
          ],
        );
        // max 1 per minute: the confirmation round did not use the budget, the deployment did.
        const again = await client.callTool({ name: "deploy", arguments: { env: "staging" } });
        assert.match(JSON.stringify(again.content), /\[RATE LIMITED\]/);
        await client.close();
      });

      it("passes cancellation on: a client that closes its response stream cancels the call upstream", async () => {
        const abort = new AbortController();
        const answer = request(proxy.sidecar.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            authorization: `Bearer ${KEYS.alice}`,
            "mcp-protocol-version": MODERN,
            "mcp-method": "tools/call",
            "mcp-name": "wait",
          },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 77,
            method: "tools/call",
            params: { name: "wait", arguments: {}, _meta: meta },
          }),
          signal: abort.signal,
        }).catch(() => undefined);
        await server.waiting;
        abort.abort();
        await answer;
        const deadline = Date.now() + 5000;
        while (!server.calls.includes("wait:cancelled") && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        assert.ok(
          server.calls.includes("wait:cancelled"),
          `the upstream saw the cancellation: ${server.calls.join(",")}`,
        );
      });

      it("rejects metadata headers that disagree with the body with 400 HeaderMismatch (-32020)", async () => {
        const before = server.calls.length;
        const answer = await rawPost(proxy.sidecar.url, modernCall("wipe", {}), {
          authorization: `Bearer ${KEYS.alice}`,
          "mcp-protocol-version": MODERN,
          "mcp-method": "tools/call",
          "mcp-name": "greet",
        });
        assert.equal(answer.status, 400);
        assert.deepEqual(JSON.parse(answer.text), {
          jsonrpc: "2.0",
          id: 9,
          error: {
            code: -32020,
            message: "Header mismatch: Mcp-Name header value 'greet' does not match body value 'wipe'",
          },
        });
        assert.equal(server.calls.length, before);
      });

      it("relays a stateless exchange byte for byte, and GET answered 405 by the server", async () => {
        const headers = { "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "greet" };
        const direct = await rawPost(server.url, modernCall("greet", { who: "bytes" }), headers);
        const proxied = await rawPost(proxy.sidecar.url, modernCall("greet", { who: "bytes" }), {
          ...headers,
          authorization: `Bearer ${KEYS.alice}`,
        });
        assert.equal(proxied.status, direct.status);
        assert.equal(proxied.headers["content-type"], direct.headers["content-type"]);
        assert.equal(proxied.text, direct.text);
        const get = await fetch(proxy.sidecar.url, {
          headers: {
            authorization: `Bearer ${KEYS.alice}`,
            accept: "text/event-stream",
            "mcp-protocol-version": MODERN,
          },
        });
        assert.equal(get.status, 405);
        await get.body?.cancel();
      });
    },
  );
}
