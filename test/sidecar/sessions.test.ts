// MCP sessions through the sidecar: bound to the caller that created them, forgotten on DELETE, bounded
// in number; and what a client sees when the upstream cannot be reached.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { KEYS, startHarness, startProxy } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { rawPost, toolCall } from "../support/raw-mcp.ts";

const POLICY = mcpPolicy("default: allow");

describe("sessions", () => {
  it("forwards DELETE, then refuses the ended session without asking the upstream", async () => {
    const h = await startHarness({ policy: POLICY });
    try {
      const own = h.upstream.sessionCount; // the sidecar's own session (it lists the tools)
      const client = new Client({ name: "c", version: "1" });
      const transport = new StreamableHTTPClientTransport(new URL(h.sidecar.url), {
        requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } },
      });
      await client.connect(transport);
      const session = transport.sessionId as string;
      assert.equal(h.sidecar.sessions.size, 1);
      assert.equal(h.upstream.sessionCount, own + 1);
      await transport.terminateSession();
      assert.equal(h.upstream.sessionCount, own, "the DELETE reached the upstream");
      assert.equal(h.sidecar.sessions.size, 0);
      const requests = h.upstream.requests.length;
      const answer = await rawPost(h.sidecar.url, toolCall(1, "list_namespaces"), {
        authorization: `Bearer ${KEYS.alice}`,
        "mcp-session-id": session,
      });
      assert.equal(answer.status, 404);
      assert.equal(h.upstream.requests.length, requests);
      assert.equal(await h.metric("mcp_warden_sessions"), 0);
      await client.close();
    } finally {
      await h.close();
    }
  });

  it("forgets the least recently used session beyond the bound; its client gets 404 and can start anew", async () => {
    const h = await startHarness({ policy: POLICY, config: { maxSessions: 2 } });
    try {
      const first = await h.client(KEYS.alice);
      await h.client(KEYS.alice);
      await h.client(KEYS.bob);
      assert.equal(h.sidecar.sessions.size, 2);
      await assert.rejects(
        first.callTool({ name: "list_namespaces", arguments: {} }),
        (err: unknown) => err instanceof StreamableHTTPError && err.code === 404,
      );
      const again = await h.client(KEYS.alice);
      assert.equal(
        ((await again.callTool({ name: "list_namespaces", arguments: {} })) as { isError?: boolean }).isError,
        undefined,
      );
    } finally {
      await h.close();
    }
  });

  it("closes idle and never-used connections at shutdown instead of waiting out the grace period", async () => {
    const h = await startHarness({ policy: POLICY });
    const client = await h.client(KEYS.alice);
    await client.listTools(); // a keep-alive connection that is idle now
    const silent = connect(Number(new URL(h.sidecar.url).port), "127.0.0.1"); // and one that never speaks
    await new Promise((resolve) => silent.once("connect", resolve));
    const closed = new Promise((resolve) => silent.once("close", resolve));
    await h.sidecar.shutdown(60_000);
    await closed;
    assert.equal(
      h.logs.logLines.some((l) => String(l.msg).startsWith("shutdown grace period over")),
      false,
    );
    await client.close();
    await h.upstream.close();
  });

  it("answers 502 with a JSON-RPC error when the upstream is down, and counts it", async () => {
    const proxy = await startProxy("http://127.0.0.1:1/mcp", { policy: POLICY });
    try {
      const answer = await rawPost(
        proxy.sidecar.url,
        {
          jsonrpc: "2.0",
          id: 3,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } },
        },
        { authorization: `Bearer ${KEYS.alice}` },
      );
      assert.equal(answer.status, 502);
      assert.deepEqual(JSON.parse(answer.text), {
        jsonrpc: "2.0",
        id: 3,
        error: { code: -32600, message: "The MCP server behind the policy proxy cannot be reached" },
      });
      assert.equal(
        await proxy.metric("mcp_warden_requests_total", { method: "initialize", outcome: "upstream_error" }),
        1,
      );
    } finally {
      await proxy.close();
    }
  });
});
