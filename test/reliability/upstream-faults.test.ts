// The MCP server crashes (SIGKILL of its process) while the sidecar relays an SSE answer: the client
// gets a JSON-RPC error for every request of that POST still unanswered, on a stream that then ends
// cleanly (the TypeScript SDK client rejects the call at once instead of waiting out its timeout);
// while the server is down the sidecar still decides and answers; when it returns, the sidecar serves
// again without a restart of its own.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { performance } from "node:perf_hooks";
import { request } from "undici";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ACCEPT_BOTH, messagesOf, rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startUpstreamProcess, type UpstreamProcess } from "../support/upstream-process.ts";
import { eventually } from "../support/eventually.ts";

/** JSON-RPC's implementation-defined server error, as the SDKs use it for a closed connection. */
const CONNECTION_CLOSED = -32000;
const POLICY = mcpPolicy(`
default: allow
tools:
  - name: delete_everything
    action: deny
    reason: "Never."
  - name: gate
    limits: [{counter: gate, window: hour, max: 100}]`);
const auth = { authorization: `Bearer ${KEYS.alice}` };

for (const resumable of [false, true]) {
  describe(
    `upstream crash mid-SSE-stream (${resumable ? "resumable server, priming events" : "FastMCP's default: no event store"})`,
    { timeout: 60_000 },
    () => {
      let upstream: UpstreamProcess;
      let proxy: ProxyHarness;
      before(async () => {
        upstream = await startUpstreamProcess({ kind: "controllable", answers: "sse", resumable });
        proxy = await startProxy(upstream.url, { policy: POLICY });
      });
      after(async () => {
        await proxy?.close();
        await upstream?.stop();
      });

      it("rejects the SDK client's call at once with a JSON-RPC error, and refunds its reservation", async (t) => {
        const client = await proxy.client(KEYS.alice);
        let killedAt = 0;
        const call = client.callTool({ name: "gate", arguments: {} }, undefined, {
          timeout: 30_000,
          onprogress: () => {
            // The server is working on the call (its progress arrived): crash it now.
            killedAt = performance.now();
            void upstream.kill();
          },
        });
        const error = await call.then(
          () => assert.fail("the call succeeded"),
          (err: unknown) => err,
        );
        const took = performance.now() - killedAt;
        assert.ok(error instanceof McpError, String(error));
        assert.equal(error.code, CONNECTION_CLOSED, error.message);
        assert.match(error.message, /The MCP server behind the policy proxy broke off its answer/);
        assert.ok(took < 5_000, `the error came ${took.toFixed(0)} ms after the crash`);
        await eventually(() => proxy.logs.auditLines.some((l) => l.tool === "gate"), "the audit line");
        const line = proxy.logs.auditLines.find((l) => l.tool === "gate");
        assert.equal(line?.upstreamOutcome, "connection_error");
        assert.equal(line?.refunded, true, "the call never completed: its reservation is given back");
        t.diagnostic(`the client had its error ${took.toFixed(0)} ms after the upstream was killed`);
        await upstream.restart();
      });

      it("answers only the requests still open, after the answers already relayed, and ends the stream cleanly", async () => {
        const session = await rawInitialize(proxy.sidecar.url, auth);
        const res = await request(proxy.sidecar.url, {
          method: "POST",
          headers: {
            ...auth,
            "content-type": "application/json",
            accept: ACCEPT_BOTH,
            "mcp-session-id": session,
            "mcp-protocol-version": "2025-03-26",
          },
          body: JSON.stringify([
            toolCall("open", "gate", {}, { _meta: { progressToken: "p" } }),
            { jsonrpc: "2.0", id: "listed", method: "tools/list" },
          ]),
        });
        assert.equal(res.headers["content-type"], "text/event-stream");
        let text = "";
        let killed = false;
        for await (const chunk of res.body) {
          text += (chunk as Buffer).toString("utf8");
          // Both the list and the gate's progress are through: crash the server.
          if (!killed && text.includes('"id":"listed"') && text.includes("notifications/progress")) {
            killed = true;
            void upstream.kill();
          }
        }
        // The body ended without an error: a clean end of stream, not a reset.
        const messages = messagesOf({ status: res.statusCode, headers: res.headers, text });
        const answers = messages.filter((m) => "id" in m && !("method" in m));
        assert.deepEqual(
          answers.map((m) => m.id),
          ["listed", "open"],
        );
        assert.ok("result" in (answers[0] as object));
        assert.deepEqual((answers[1] as { error: { code: number } }).error.code, CONNECTION_CLOSED);
        await upstream.restart();
      });
    },
  );
}

describe("an upstream that dies in the middle of an SSE event", () => {
  it("closes the unfinished event so no client reads half a message, then answers the call with an error", async () => {
    // A raw MCP upstream double: answers initialize, then cuts its tools/call answer mid-event.
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString("utf8")));
      req.on("end", () => {
        if (req.method !== "POST") return void res.writeHead(405).end();
        const message = JSON.parse(body) as { id?: number; method: string };
        if (message.method === "initialize") {
          res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "s1" });
          res.end(
            JSON.stringify({
              jsonrpc: "2.0",
              id: message.id,
              result: {
                protocolVersion: "2025-06-18",
                capabilities: { tools: {} },
                serverInfo: { name: "cut", version: "1" },
              },
            }),
          );
        } else if (message.id === undefined) {
          res.writeHead(202).end();
        } else {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write(
            `event: message\ndata: {"jsonrpc":"2.0","id":${message.id},"result":{"content":[{"type":"text","text":"half of it`,
          );
          setTimeout(() => res.socket?.destroy(), 50);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const proxy = await startProxy(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, {
      policy: POLICY,
    });
    try {
      const client = await proxy.client(KEYS.alice);
      const seen: unknown[] = [];
      client.onerror = (err) => seen.push(err);
      await assert.rejects(
        client.callTool({ name: "anything", arguments: {} }, undefined, { timeout: 10_000 }),
        (err: unknown) => err instanceof McpError && err.code === CONNECTION_CLOSED,
      );
      assert.deepEqual(
        seen.filter((e) => e instanceof SyntaxError || /JSON/.test(String(e))),
        [],
        "the client never parsed the truncated event",
      );
    } finally {
      await proxy.close();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("the sidecar while the MCP server is down, and after it returns", { timeout: 60_000 }, () => {
  let upstream: UpstreamProcess;
  let proxy: ProxyHarness;
  before(async () => {
    upstream = await startUpstreamProcess({ kind: "kestra", answers: "sse" });
    proxy = await startProxy(upstream.url, { policy: POLICY });
  });
  after(async () => {
    await proxy?.close();
    await upstream?.stop();
  });

  it("keeps deciding, answers forwarded calls 502 at once, stays live, and serves again when the server returns", async () => {
    const before = await proxy.client(KEYS.alice);
    assert.equal(
      ((await before.callTool({ name: "list_namespaces", arguments: {} })) as { isError?: boolean }).isError,
      undefined,
    );
    const session = await rawInitialize(proxy.sidecar.url, auth);
    await upstream.kill();

    const headers = { ...auth, "mcp-session-id": session, "mcp-protocol-version": "2025-03-26" };
    const denied = await rawPost(proxy.sidecar.url, toolCall(1, "delete_everything"), headers);
    assert.equal(denied.status, 200);
    assert.match(JSON.stringify(messagesOf(denied)), /\[POLICY DENIED\] Never\./);
    const started = performance.now();
    const forwarded = await rawPost(proxy.sidecar.url, toolCall(2, "list_namespaces"), headers);
    assert.equal(forwarded.status, 502);
    assert.deepEqual(JSON.parse(forwarded.text), {
      jsonrpc: "2.0",
      id: 2,
      error: { code: -32600, message: "The MCP server behind the policy proxy cannot be reached" },
    });
    assert.ok(performance.now() - started < 2_000);
    assert.equal((await fetch(`${proxy.sidecar.adminUrl}/healthz`)).status, 200);

    await upstream.restart();
    // The old sessions died with the server: it answers 404, the sidecar forgets them, clients start anew.
    await assert.rejects(
      before.callTool({ name: "list_namespaces", arguments: {} }),
      (err: unknown) => err instanceof StreamableHTTPError && err.code === 404,
    );
    const stale = await rawPost(proxy.sidecar.url, toolCall(3, "list_namespaces"), headers);
    assert.equal(stale.status, 404);
    const after = await proxy.client(KEYS.alice);
    assert.equal(
      ((await after.callTool({ name: "list_namespaces", arguments: {} })) as { isError?: boolean }).isError,
      undefined,
    );
    assert.equal(proxy.sidecar.sessions.size, 1, "only the new session is bound");
  });
});
