// The sidecar's own tools/list, against a real TypeScript SDK server whose tool list and pages the
// test controls: it lists every page, retries until the upstream is up,
// lists again on notifications/tools/list_changed and after the upstream restarts, and ends its
// session on stop.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { flagTool as tool, startToolListServer } from "../../test/upstreams/tool-list-server.ts";
import { ToolLister } from "./tool-lister.ts";
import { KnownTools } from "./tool-names.ts";
import { eventually } from "../../test/support/eventually.ts";

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
    const upstream = await startToolListServer({ tools: ["a", "b", "c", "d", "e"].map((n) => tool(n)), pageSize: 2 });
    cleanup.push(() => upstream.close());
    const known = new KnownTools();
    const lister = new ToolLister({
      url: new URL(`http://127.0.0.1:${upstream.port}/mcp`),
      knownTools: known,
      log: pino({ level: "silent" }),
      version: "test",
    });
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
    const placeholder = await startToolListServer();
    const port = placeholder.port;
    await placeholder.close(); // nothing listens on this port now
    const known = new KnownTools();
    const lines: string[] = [];
    const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(s) });
    const lister = new ToolLister({
      url: new URL(`http://127.0.0.1:${port}/mcp`),
      knownTools: known,
      log,
      version: "test",
      minDelayMs: 100,
      maxDelayMs: 400,
    });
    cleanup.push(() => lister.stop());
    lister.start();
    await eventually(() => assert.ok(lines.some((l) => l.includes("cannot list the upstream's tools yet"))));
    assert.equal(lister.listed, false);
    assert.equal(
      await Promise.race([
        known.toolListChanged().then(() => "settled"),
        new Promise((r) => setTimeout(() => r("waiting"), 3000)),
      ]),
      "settled",
      "a failed attempt settles its waiters too",
    );

    let upstream = await startToolListServer({ port, tools: [tool("late")] });
    cleanup.push(() => upstream.close());
    await eventually(() => assert.ok(lister.listed));
    assert.ok(validates(known, "late", { flag: true }));

    // The upstream restarts with other tools: its sessions are gone, and the lister's GET stream broke.
    await upstream.close();
    upstream = await startToolListServer({ port, tools: [tool("reborn")] });
    cleanup.push(() => upstream.close());
    await eventually(() => assert.ok(known.inputSchemas.lookup("reborn")));
    assert.equal(known.inputSchemas.lookup("late"), undefined);
  });

  it("announces every complete catalogue, and learns how a missing tool is answered without running anything", async () => {
    const upstream = await startToolListServer({ tools: ["a", "b", "c"].map((n) => tool(n)), pageSize: 2 });
    cleanup.push(() => upstream.close());
    const known = new KnownTools();
    const lister = new ToolLister({
      url: new URL(`http://127.0.0.1:${upstream.port}/mcp`),
      knownTools: known,
      log: pino({ level: "silent" }),
      version: "test",
    });
    cleanup.push(() => lister.stop());
    const catalogues: string[][] = [];
    lister.onCatalogue(() => {
      throw new Error("a broken listener");
    });
    const remove = lister.onCatalogue((tools) => catalogues.push(tools.map((t) => (t as { name: string }).name)));
    lister.start();
    await eventually(() => assert.ok(known.missingTool.learnt));
    assert.deepEqual(catalogues, [["a", "b", "c"]], "every page, once, despite the listener before it failing");
    assert.deepEqual(known.missingTool.learnt, {
      kind: "result",
      template: { isError: true, content: [{ type: "text", text: "Tool \u0000tool\u0000 not found" }] },
    });
    assert.deepEqual(upstream.calls, [], "the probe ran nothing");
    assert.deepEqual(known.answerMissing(4, "secret", false), {
      jsonrpc: "2.0",
      id: 4,
      result: { isError: true, content: [{ type: "text", text: "Tool secret not found" }] },
    });

    remove();
    upstream.tools = [tool("d")];
    await known.toolListChanged();
    assert.equal(catalogues.length, 1, "a removed listener hears nothing more");
  });

  it("refuses a catalogue beyond its bounds, and keeps trying", async () => {
    const upstream = await startToolListServer({
      tools: Array.from({ length: 10_001 }, (_, i) => ({ name: `t${i}`, inputSchema: { type: "object" as const } })),
      pageSize: 5000,
    });
    cleanup.push(() => upstream.close());
    const known = new KnownTools();
    const lines: string[] = [];
    const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(s) });
    const lister = new ToolLister({
      url: new URL(`http://127.0.0.1:${upstream.port}/mcp`),
      knownTools: known,
      log,
      version: "test",
      minDelayMs: 100,
      maxDelayMs: 200,
    });
    cleanup.push(() => lister.stop());
    lister.start();
    await eventually(() => assert.ok(lines.some((l) => l.includes("more than 10000 tools"))));
    assert.equal(lister.listed, false);
    assert.equal(known.hasCatalogue, false);
    upstream.tools = [tool("fits")];
    await eventually(() => assert.ok(lister.listed));
    assert.ok(known.has("fits"));
  });
});
