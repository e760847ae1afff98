// The sidecar's own tools/list, against a real TypeScript SDK server (low-level Server, so the test
// controls its tool list and its pages): it lists every page, retries until the upstream is up,
// lists again on notifications/tools/list_changed and after the upstream restarts, and ends its
// session on stop.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { pino } from "pino";
import { ToolLister } from "./tool-lister.ts";
import { KnownTools } from "./tool-names.ts";

interface Upstream {
  tools: { name: string; inputSchema: object }[];
  /** Requests by method (tools/list pages, initialize) and DELETEs. */
  seen: string[];
  /** Tells every session its tool list changed. */
  announce(): Promise<void>;
  close(): Promise<void>;
}

const PAGE = 2;
const tool = (name: string, type = "boolean") => ({ name, inputSchema: { type: "object", properties: { flag: { type } }, additionalProperties: false } });

async function startUpstream(port = 0, tools = [tool("a"), tool("b"), tool("c"), tool("d"), tool("e")]): Promise<Upstream & { port: number }> {
  const seen: string[] = [];
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: Server }>();
  const state = { tools };
  const http: HttpServer = createServer((req, res) => {
    void (async () => {
      if (req.method === "DELETE") seen.push("DELETE");
      const id = req.headers["mcp-session-id"];
      const existing = typeof id === "string" ? sessions.get(id) : undefined;
      if (typeof id === "string" && !existing) {
        res.writeHead(404).end();
        return;
      }
      if (existing) return existing.transport.handleRequest(req, res);
      const server = new Server({ name: "lister-upstream", version: "1.0.0" }, { capabilities: { tools: { listChanged: true } } });
      server.setRequestHandler(ListToolsRequestSchema, (request) => {
        const start = Number(request.params?.cursor ?? 0);
        seen.push(`tools/list ${start}`);
        const next = start + PAGE;
        return { tools: state.tools.slice(start, next), ...(next < state.tools.length ? { nextCursor: String(next) } : {}) };
      });
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => void sessions.set(sid, { transport, server }),
        onsessionclosed: (sid) => void sessions.delete(sid),
      });
      await server.connect(transport);
      await transport.handleRequest(req, res);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve));
  return {
    port: (http.address() as AddressInfo).port,
    get tools() {
      return state.tools;
    },
    set tools(value) {
      state.tools = value;
    },
    seen,
    async announce() {
      await Promise.all([...sessions.values()].map((s) => s.server.sendToolListChanged()));
    },
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.transport.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function eventually(check: () => void, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function validates(known: KnownTools, name: string, args: unknown): boolean {
  const schema = known.inputSchemas.lookup(name);
  assert.ok(schema && "validate" in schema, `${name} known`);
  return schema.validate(args) === undefined;
}

describe("the sidecar's own tools/list", { timeout: 60_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it("lists every page, and lists again on the upstream's list_changed and on the proxy's word", async () => {
    const upstream = await startUpstream();
    cleanup.push(() => upstream.close());
    const known = new KnownTools();
    const lister = new ToolLister({ url: new URL(`http://127.0.0.1:${upstream.port}/mcp`), knownTools: known, log: pino({ level: "silent" }), version: "test" });
    cleanup.push(() => lister.stop());
    lister.start();
    await eventually(() => assert.equal(known.inputSchemas.size, 5));
    assert.deepEqual(upstream.seen, ["tools/list 0", "tools/list 2", "tools/list 4"]);
    assert.ok(lister.listed);

    // The upstream's own notification, on the lister's session: tools changed and one went away.
    upstream.tools = [tool("a", "string"), tool("f")];
    await upstream.announce();
    await eventually(() => assert.equal(known.inputSchemas.lookup("b"), undefined));
    assert.ok(validates(known, "a", { flag: "x" }) && validates(known, "f", { flag: true }));

    // A list_changed the proxy saw on an agent's stream: the promise resolves once listed.
    upstream.tools = [tool("g")];
    await known.toolListChanged();
    assert.equal(known.inputSchemas.size, 1);
    assert.ok(validates(known, "g", { flag: false }));

    await lister.stop();
    assert.equal(upstream.seen.at(-1), "DELETE", "the lister ends its upstream session");
    const requests = upstream.seen.length;
    await known.toolListChanged();
    assert.equal(upstream.seen.length, requests, "a stopped lister lists nothing");
  });

  it("retries until the upstream is up, and lists again after the upstream restarted", async () => {
    const placeholder = await startUpstream();
    const port = placeholder.port;
    await placeholder.close(); // nothing listens on this port now
    const known = new KnownTools();
    const lines: string[] = [];
    const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(s) });
    const lister = new ToolLister({ url: new URL(`http://127.0.0.1:${port}/mcp`), knownTools: known, log, version: "test", minDelayMs: 100, maxDelayMs: 400 });
    cleanup.push(() => lister.stop());
    lister.start();
    await eventually(() => assert.ok(lines.some((l) => l.includes("cannot list the upstream's tools yet"))));
    assert.equal(lister.listed, false);
    assert.equal(await Promise.race([known.toolListChanged().then(() => "settled"), new Promise((r) => setTimeout(() => r("waiting"), 3000))]), "settled", "a failed attempt settles its waiters too");

    let upstream = await startUpstream(port, [tool("late")]);
    cleanup.push(() => upstream.close());
    await eventually(() => assert.ok(lister.listed));
    assert.ok(validates(known, "late", { flag: true }));

    // The upstream restarts with other tools: its sessions are gone, and the lister's GET stream broke.
    await upstream.close();
    upstream = await startUpstream(port, [tool("reborn")]);
    cleanup.push(() => upstream.close());
    await eventually(() => assert.ok(known.inputSchemas.lookup("reborn")));
    assert.equal(known.inputSchemas.lookup("late"), undefined);
  });
});
