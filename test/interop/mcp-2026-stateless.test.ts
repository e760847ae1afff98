// `scope: session` under 2026-07-28, which has no Mcp-Session-Id (ADR 0152): such a budget is keyed on
// the authenticated caller's grant, a value the sidecar controls, never on what the client asserts
// about itself (clientInfo in _meta). Changing clientInfo does not buy a new budget; another caller
// has its own. Judged by the calls the server ran.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { messagesOf, rawPost } from "../support/raw-mcp.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startV2Server, type V2Server } from "../upstreams/sdk-v2-server.ts";

const MODERN = "2026-07-28";
const POLICY = mcpPolicy(`
default: allow
tools:
  - name: greet
    limits: [{window: minute, max: 2, scope: session}]
`);

describe("scope: session limits under stateless 2026-07-28", { timeout: 60_000 }, () => {
  let server: V2Server;
  let proxy: ProxyHarness;
  before(async () => {
    server = await startV2Server("json");
    proxy = await startProxy(server.url, { policy: POLICY });
  });
  after(async () => {
    await proxy?.close();
    await server?.close();
  });

  const greet = async (key: string, client: string) => {
    const meta = {
      "io.modelcontextprotocol/protocolVersion": MODERN,
      "io.modelcontextprotocol/clientInfo": { name: client, version: "1" },
      "io.modelcontextprotocol/clientCapabilities": {},
    };
    const body = {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "greet", arguments: { who: client }, _meta: meta },
    };
    const answer = await rawPost(proxy.sidecar.url, body, {
      authorization: `Bearer ${key}`,
      "mcp-protocol-version": MODERN,
      "mcp-method": "tools/call",
      "mcp-name": "greet",
    });
    const text = (messagesOf(answer)[0] as { result: { content: { text: string }[] } }).result.content[0]?.text ?? "";
    return text.startsWith("[RATE LIMITED]") ? "rate_limited" : "allowed";
  };

  it("keys the budget on the caller's grant: new clientInfo names share it, another caller has its own", async () => {
    const before = server.calls.length;
    const alice = [
      await greet(KEYS.alice, "agent-1"),
      await greet(KEYS.alice, "agent-2"),
      await greet(KEYS.alice, "agent-3"),
      await greet(KEYS.alice, "agent-4"),
    ];
    assert.deepEqual(alice, ["allowed", "allowed", "rate_limited", "rate_limited"]);
    assert.equal(await greet(KEYS.bob, "agent-1"), "allowed");
    assert.equal(server.calls.length - before, 3, "the server ran two of alice's calls and bob's");
  });
});
