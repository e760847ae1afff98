// The keep-alive of a held call, over a real HTTP connection, with time driven by a ManualClock.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../kube/manual-clock.testing.ts";
import { acceptsEventStream, HeldAnswer, progressTokenOf, type HeldAnswerOptions } from "./held-answer.ts";

interface Exchange {
  held: HeldAnswer;
  res: ServerResponse;
  answer: IncomingMessage | undefined;
  received: string;
  /** Resolves once `n` complete SSE events (or comments) have arrived. */
  events(n: number): Promise<void>;
}

describe("HeldAnswer", () => {
  let server: Server;
  let port = 0;
  let nextOptions: HeldAnswerOptions;
  let pending: ((ex: { held: HeldAnswer; res: ServerResponse }) => void) | undefined;

  before(async () => {
    server = createServer((_req, res) => {
      const held = new HeldAnswer(res, nextOptions);
      held.start();
      pending?.({ held, res });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const hold = async (options: Partial<HeldAnswerOptions> = {}): Promise<Exchange & { clock: ManualClock }> => {
    const clock = new ManualClock();
    nextOptions = {
      clock,
      keepAliveMs: 15_000,
      streaming: true,
      progressToken: undefined,
      timeoutMs: 60_000,
      describe: () => "waiting for approval agents/restart-x7k2p",
      ...options,
    };
    const arrived = new Promise<{ held: HeldAnswer; res: ServerResponse }>((resolve) => (pending = resolve));
    const ex = { answer: undefined, received: "", waiters: [] as Array<() => void> } as unknown as Exchange & {
      clock: ManualClock;
      waiters: Array<() => void>;
    };
    request({ port, method: "POST" }, (answer) => {
      ex.answer = answer;
      answer.setEncoding("utf8");
      answer.on("data", (chunk: string) => {
        ex.received += chunk;
        for (const w of ex.waiters.splice(0)) w();
      });
    }).end();
    const { held, res } = await arrived;
    return Object.assign(ex, {
      held,
      res,
      clock,
      events: (n: number) =>
        new Promise<void>((resolve) => {
          const check = () => (ex.received.split("\n\n").length - 1 >= n ? resolve() : ex.waiters.push(check));
          check();
        }),
    });
  };

  it("writes nothing before the first keep-alive is due", async () => {
    const ex = await hold({ progressToken: "p-1" });
    await ex.clock.advance(14_999);
    assert.equal(
      ex.res.headersSent,
      false,
      "a decision before the first keep-alive is answered as if nothing was held",
    );
    assert.equal(ex.held.opened, false);
    ex.held.stop();
    ex.res.end();
  });

  it("sends progress notifications for a progressToken, with seconds waited and the timeout as total", async () => {
    const ex = await hold({ progressToken: "p-1" });
    await ex.clock.advance(15_000);
    await ex.events(1);
    assert.equal(ex.answer?.headers["content-type"], "text/event-stream");
    await ex.clock.advance(15_000);
    await ex.events(2);
    const events = ex.received
      .split("\n\n")
      .filter(Boolean)
      .map(
        (e) =>
          JSON.parse(e.replace(/^event: message\ndata: /, "")) as { method: string; params: Record<string, unknown> },
      );
    assert.deepEqual(
      events.map((e) => e.params),
      [
        { progressToken: "p-1", progress: 15, total: 60, message: "waiting for approval agents/restart-x7k2p" },
        { progressToken: "p-1", progress: 30, total: 60, message: "waiting for approval agents/restart-x7k2p" },
      ],
    );
    assert.equal(events[0]?.method, "notifications/progress");
    assert.equal(ex.held.ticks, 2);
    await ex.held.send({ jsonrpc: "2.0", id: 1, result: { content: [] } });
    ex.held.end();
    await once(ex.answer, "end");
    assert.ok(ex.received.endsWith('data: {"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n\n'));
  });

  it("sends SSE comments when the client asked for no progress, and stops when told", async () => {
    const ex = await hold({ progressToken: undefined, keepAliveMs: 10_000 });
    await ex.clock.advance(30_000);
    await ex.events(3);
    assert.equal(ex.received, ": waiting for approval agents/restart-x7k2p\n\n".repeat(3));
    ex.held.stop();
    await ex.clock.advance(60_000);
    assert.equal(ex.held.ticks, 3, "no keep-alive after stop()");
    ex.held.end();
  });

  it("never opens a stream for a client that does not accept one", async () => {
    const ex = await hold({ streaming: false, progressToken: "p" });
    await ex.clock.advance(120_000);
    assert.equal(ex.res.headersSent, false);
    assert.equal(ex.clock.pendingTimers, 0);
    assert.throws(() => ex.held.open(), /does not accept an SSE answer/);
    ex.res.end();
  });

  it("reads Accept headers and progress tokens", () => {
    assert.equal(acceptsEventStream("application/json, text/event-stream"), true);
    assert.equal(acceptsEventStream("application/json;q=1, text/event-stream;q=0.5"), true);
    assert.equal(acceptsEventStream("application/json"), false);
    assert.equal(acceptsEventStream(undefined), false);
    assert.equal(progressTokenOf({ _meta: { progressToken: 7 } }), 7);
    assert.equal(progressTokenOf({ _meta: { progressToken: "abc" } }), "abc");
    for (const params of [
      {},
      { _meta: { progressToken: { x: 1 } } },
      { _meta: null },
      undefined,
      { _meta: { progressToken: Number.NaN } },
    ])
      assert.equal(progressTokenOf(params), undefined);
  });
});
