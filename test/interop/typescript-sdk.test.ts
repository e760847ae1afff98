// Interop with the TypeScript SDK (v1), client and server, in every serving mode of the server:
// stateful or stateless, SSE or JSON answers. The same exchanges run directly and through the sidecar;
// where no policy applies, the SDK client sees the same results and the wire carries the same bytes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { rawPost, toolCall, type RawAnswer } from "../support/raw-mcp.ts";
import { startSdkServer, type SdkServer } from "../upstreams/sdk-server.ts";

const POLICY = mcpPolicy("default: allow\nhide: [wipe_disk]");
const MODES = [
  { stateful: true, answers: "sse" },
  { stateful: true, answers: "json" },
  { stateful: false, answers: "sse" },
  { stateful: false, answers: "json" },
] as const;

async function session(client: Client) {
  return {
    tools: (await client.listTools()).tools,
    echo: await client.callTool({ name: "echo", arguments: { message: "ünïcødé ✓" } }),
    weather: await client.callTool({ name: "weather", arguments: { city: "Lyon" } }),
    resource: await client.readResource({ uri: "docs://readme" }),
    prompt: await client.getPrompt({ name: "review", arguments: { language: "Rust" } }),
    version: client.getServerVersion(),
  };
}

for (const mode of MODES) {
  describe(
    `TypeScript SDK client ↔ sidecar ↔ TypeScript SDK server (${mode.stateful ? "stateful" : "stateless"}, ${mode.answers})`,
    { timeout: 60_000 },
    () => {
      let server: SdkServer;
      let proxy: ProxyHarness;
      before(async () => {
        server = await startSdkServer(mode);
        proxy = await startProxy(server.url, { policy: POLICY });
      });
      after(async () => {
        await proxy?.close();
        await server?.close();
      });

      it("shows the SDK client the same results directly and through the sidecar", async () => {
        const directClient = new Client({ name: "direct", version: "1" });
        await directClient.connect(new StreamableHTTPClientTransport(new URL(server.url)));
        const direct = await session(directClient);
        await directClient.close();
        const proxied = await session(await proxy.client(KEYS.alice));
        assert.deepEqual(
          proxied.tools,
          direct.tools.filter((t) => t.name !== "wipe_disk"),
        );
        assert.equal(direct.tools.length, 3);
        assert.deepEqual({ ...proxied, tools: [] }, { ...direct, tools: [] });
      });

      it("carries the same bytes, status and content type as the server sends", async () => {
        const exchange = async (url: string, auth: Record<string, string>): Promise<RawAnswer[]> => {
          const init = await rawPost(
            url,
            {
              jsonrpc: "2.0",
              id: 1,
              method: "initialize",
              params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
            },
            auth,
          );
          const sessionId = init.headers["mcp-session-id"];
          const headers = {
            ...auth,
            "mcp-protocol-version": "2025-06-18",
            ...(typeof sessionId === "string" ? { "mcp-session-id": sessionId } : {}),
          };
          return [
            init,
            await rawPost(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers),
            await rawPost(url, toolCall(2, "echo", { message: "bytes «as» they are" }), headers),
            await rawPost(url, toolCall("three", "weather", { city: "Oslo" }), headers),
            await rawPost(
              url,
              { jsonrpc: "2.0", id: 4, method: "resources/read", params: { uri: "docs://readme" } },
              headers,
            ),
            await rawPost(
              url,
              {
                jsonrpc: "2.0",
                id: 5,
                method: "prompts/get",
                params: { name: "review", arguments: { language: "Go" } },
              },
              headers,
            ),
            await rawPost(url, { jsonrpc: "2.0", id: 6, method: "no/such/method" }, headers),
          ];
        };
        const direct = await exchange(server.url, {});
        const proxied = await exchange(proxy.sidecar.url, { authorization: `Bearer ${KEYS.alice}` });
        for (const [i, a] of direct.entries()) {
          const b = proxied[i] as RawAnswer;
          assert.equal(b.status, a.status, `exchange ${i}`);
          assert.equal(b.text, a.text, `exchange ${i}: same bytes`);
          for (const header of ["content-type", "cache-control", "x-accel-buffering"])
            assert.equal(b.headers[header], a.headers[header], `exchange ${i}: ${header}`);
          assert.equal(b.headers["content-encoding"], undefined);
        }
        assert.equal(typeof proxied[0]?.headers["mcp-session-id"] === "string", mode.stateful);
      });
    },
  );
}
