// Streams through the sidecar: SSE events reach the client while the upstream is still working, slow
// upstreams (quiet streams, late JSON answers) outlive every client-side timeout of the sidecar,
// cancellation and client disconnects reach the upstream, elicitation passes through,
// the standalone GET stream carries server notifications, and a dropped stream resumes with Last-Event-ID.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { request } from "undici";
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { KEYS, startProxy } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { ACCEPT_BOTH, rawInitialize } from "../support/raw-mcp.ts";
import { startControllableServer } from "../upstreams/controllable-server.ts";
import { eventually } from "../support/eventually.ts";

const POLICY = mcpPolicy("default: allow");

async function withProxy<T>(
  options: Parameters<typeof startControllableServer>[0],
  config: Parameters<typeof startProxy>[1]["config"],
  body: (
    p: Awaited<ReturnType<typeof startProxy>>,
    upstream: Awaited<ReturnType<typeof startControllableServer>>,
  ) => Promise<T>,
): Promise<T> {
  const upstream = await startControllableServer(options);
  const proxy = await startProxy(upstream.url, { policy: POLICY, config });
  try {
    return await body(proxy, upstream);
  } finally {
    await proxy.close();
    await upstream.close();
  }
}

describe("streaming", () => {
  it("delivers SSE events as they happen, not when the answer is complete", { timeout: 15_000 }, async () => {
    await withProxy({}, {}, async (proxy, upstream) => {
      const client = await proxy.client(KEYS.alice);
      let progressSeenWhileWaiting = false;
      const result = client.callTool({ name: "gate", arguments: {} }, undefined, {
        onprogress: () => {
          progressSeenWhileWaiting = true;
          upstream.open(); // the tool only finishes after the client saw its progress
        },
      });
      assert.equal(((await result) as { content: { text: string }[] }).content[0]?.text, "gate passed");
      assert.ok(progressSeenWhileWaiting);
    });
  });

  for (const answers of ["sse", "json"] as const) {
    it(`waits for a slow upstream longer than every sidecar client timeout (answers ${answers})`, async () => {
      await withProxy(
        { answers },
        { headersTimeoutMs: 200, requestTimeoutMs: 300, keepAliveTimeoutMs: 300 },
        async (proxy, upstream) => {
          const client = await proxy.client(KEYS.alice);
          const result = client.callTool({ name: "gate", arguments: {} });
          await upstream.started;
          // Silence on the stream, or no answer headers at all (JSON): 4× the request timeout.
          await new Promise((r) => setTimeout(r, 1200));
          upstream.open();
          assert.equal(((await result) as { content: { text: string }[] }).content[0]?.text, "gate passed");
        },
      );
    });

    it(`aborts the upstream request when the client disconnects mid-call (answers ${answers})`, async () => {
      await withProxy({ answers }, {}, async (proxy, upstream) => {
        const auth = { authorization: `Bearer ${KEYS.alice}` };
        const session = await rawInitialize(proxy.sidecar.url, auth, "2025-06-18");
        const abort = new AbortController();
        // No notifications/cancelled: the client just goes away (a crashed agent, a dropped connection).
        const call = request(proxy.sidecar.url, {
          method: "POST",
          headers: {
            ...auth,
            "mcp-session-id": session,
            "mcp-protocol-version": "2025-06-18",
            "content-type": "application/json",
            accept: ACCEPT_BOTH,
          },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 5,
            method: "tools/call",
            params: { name: "gate", arguments: {} },
          }),
          signal: abort.signal,
        }).then(async (res) => res.body.text());
        await upstream.started;
        assert.equal(upstream.abortedRequests, 0);
        abort.abort();
        await assert.rejects(call);
        await eventually(() => upstream.abortedRequests === 1, "the upstream to see its request aborted");
        await eventually(() => proxy.logs.auditLines.some((l) => l.tool === "gate"), "the audit line");
        const line = proxy.logs.auditLines.find((l) => l.tool === "gate");
        assert.equal(line?.upstreamOutcome, "cancelled");
        assert.equal(line?.refunded, false, "the tool may have run: a cancelled call keeps its reservation");
      });
    });
  }

  it("passes cancellation through to the upstream", async () => {
    await withProxy({}, {}, async (proxy, upstream) => {
      const client = await proxy.client(KEYS.alice);
      const abort = new AbortController();
      const result = client.callTool({ name: "gate", arguments: {} }, undefined, { signal: abort.signal });
      await upstream.started;
      abort.abort("the user changed their mind");
      await assert.rejects(result);
      const deadline = Date.now() + 5000;
      while (!upstream.cancelled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(upstream.cancelled, true, "the upstream saw notifications/cancelled");
    });
  });

  it("relays server-to-client requests (elicitation) and the client's answers", async () => {
    for (const answers of ["sse", "json"] as const) {
      await withProxy({ answers }, {}, async (proxy) => {
        const client = await proxy.client(KEYS.alice, { capabilities: { elicitation: { form: {} } } });
        client.setRequestHandler(ElicitRequestSchema, (req) => ({
          action: "accept",
          content: { reply: `yes to ${req.params.message}` },
        }));
        const result = (await client.callTool({ name: "ask", arguments: { question: "deploy?" } })) as {
          content: { text: string }[];
        };
        assert.equal(result.content[0]?.text, 'accept: {"reply":"yes to deploy?"}');
      });
    }
  });

  it("sends a quiet stream's headers at once, before any event", { timeout: 10_000 }, async () => {
    // The upstream sends its first event only after the client has seen the stream's headers: a proxy
    // that holds headers back until data comes would deadlock here.
    let headersSeen!: () => void;
    const seen = new Promise<void>((resolve) => (headersSeen = resolve));
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
      void seen.then(() =>
        res.end('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n\n'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const proxy = await startProxy(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, {
      policy: POLICY,
    });
    try {
      const res = await request(proxy.sidecar.url, {
        method: "GET",
        headers: { authorization: `Bearer ${KEYS.alice}`, accept: "text/event-stream" },
      });
      assert.equal(res.statusCode, 200);
      headersSeen();
      assert.match(await res.body.text(), /list_changed/);
    } finally {
      await proxy.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it("relays notifications on the standalone GET stream", async () => {
    await withProxy({}, {}, async (proxy) => {
      const client = await proxy.client(KEYS.alice);
      const changed = new Promise<void>((resolve) =>
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
      );
      await client.callTool({ name: "announce", arguments: {} });
      await changed;
    });
  });

  it("resumes a dropped stream with Last-Event-ID, and only for the caller who owns the session", async () => {
    await withProxy({ resumable: true }, {}, async (proxy, upstream) => {
      const auth = { authorization: `Bearer ${KEYS.alice}` };
      const session = await rawInitialize(proxy.sidecar.url, auth, "2025-11-25");
      const headers = {
        ...auth,
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-11-25",
        "content-type": "application/json",
        accept: ACCEPT_BOTH,
      };
      const abort = new AbortController();
      const post = await request(proxy.sidecar.url, {
        method: "POST",
        headers,
        body: JSON.stringify({ jsonrpc: "2.0", id: 42, method: "tools/call", params: { name: "gate", arguments: {} } }),
        signal: abort.signal,
      });
      assert.equal(post.headers["content-type"], "text/event-stream");
      // Read up to the priming event (an id and empty data), then drop the connection.
      let seen = "";
      for await (const chunk of post.body) {
        seen += (chunk as Buffer).toString("utf8");
        if (/\n\n/.test(seen)) break;
      }
      const lastEventId = /^id: ?(.+)$/m.exec(seen)?.[1];
      assert.ok(lastEventId, `priming event with an id: ${JSON.stringify(seen)}`);
      abort.abort();
      await upstream.started;
      upstream.open();

      const bob = await request(proxy.sidecar.url, {
        method: "GET",
        headers: {
          authorization: `Bearer ${KEYS.bob}`,
          accept: "text/event-stream",
          "mcp-session-id": session,
          "last-event-id": lastEventId,
        },
      });
      assert.equal(bob.statusCode, 404, "another caller cannot resume alice's stream");
      await bob.body.dump();

      const resumed = await request(proxy.sidecar.url, {
        method: "GET",
        headers: {
          ...auth,
          accept: "text/event-stream",
          "mcp-session-id": session,
          "mcp-protocol-version": "2025-11-25",
          "last-event-id": lastEventId,
        },
      });
      assert.equal(resumed.statusCode, 200);
      let replay = "";
      for await (const chunk of resumed.body) {
        replay += (chunk as Buffer).toString("utf8");
        if (replay.includes('"id":42')) break;
      }
      assert.match(replay, /"id":42,?.*gate passed|gate passed.*"id":42/s);
      resumed.body.destroy();
    });
  });
});
