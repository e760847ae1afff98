import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import type { UpstreamOutcome } from "../tool-call.ts";
import { KnownTools } from "../enforcement/tool-names.ts";
import { AnswerInspector, type ForwardedRequest, type PendingToolCall } from "./answer-inspector.ts";
import { RequestIds } from "./request-ids.ts";

const log = pino({ level: "silent" });

function inspector(
  options: {
    hidden?: (t: string) => boolean;
    replayed?: (minted: number) => string | number | undefined;
    cancelledByClient?: (minted: number) => boolean;
  } = {},
) {
  const outcomes: string[] = [];
  const dropped: string[] = [];
  const call = (name: string): PendingToolCall => ({
    complete: (o: UpstreamOutcome, s?: number) => outcomes.push(`${name}:${o}:${s}`),
  });
  const forwarded = new Map<number, ForwardedRequest>([
    [101, { clientId: 1, method: "tools/call", call: call("one") }],
    [102, { clientId: "two", method: "tools/call", call: call("two") }],
    [103, { clientId: 3, method: "tools/call", call: call("three") }],
    [104, { clientId: "1", method: "tools/list" }],
    [105, { clientId: 5, method: "ping" }],
  ]);
  const known = new KnownTools();
  const settled: number[] = [];
  const i = new AnswerInspector({
    forwarded,
    answered: (m) => settled.push(m),
    interrupted: (m) => settled.push(-m),
    hidden: options.hidden,
    replayed: options.replayed,
    cancelledByClient: options.cancelledByClient,
    knownTools: known,
    status: 200,
    log,
    onDropped: () => dropped.push("x"),
  });
  return { i, outcomes, known, dropped, settled };
}

const answer = (id: unknown, result: unknown = { content: [] }) => ({ jsonrpc: "2.0", id, result });

describe("AnswerInspector", () => {
  it("a tasks/list answer filtered to the caller's own tasks, and a decided read, become cacheScope private", () => {
    const forwarded = new Map<number, ForwardedRequest>([
      [201, { clientId: 1, method: "tasks/list" }],
      [202, { clientId: 2, method: "resources/read", call: { complete: () => undefined } }],
      [203, { clientId: 3, method: "resources/read" }],
    ]);
    const i = new AnswerInspector({
      forwarded,
      hidden: undefined,
      knownTools: new KnownTools(),
      status: 200,
      log,
      taskVisible: (id: string) => id === "mine",
    });
    const tasks = { tasks: [{ taskId: "mine" }, { taskId: "theirs" }], cacheScope: "public", ttlMs: 1000 };
    assert.deepEqual(
      i.translateOne(answer(201, tasks)),
      answer(1, { tasks: [{ taskId: "mine" }], cacheScope: "private", ttlMs: 1000 }),
    );
    assert.deepEqual(
      i.translateOne(answer(202, { contents: [], cacheScope: "public" })),
      answer(2, { contents: [], cacheScope: "private" }),
    );
    assert.deepEqual(
      i.translateOne(answer(203, { contents: [], cacheScope: "public" })),
      answer(3, { contents: [], cacheScope: "public" }),
      "a read no policy block decided is untouched",
    );
  });

  it("gives answers their client ids back and completes tool calls with the outcome their answers show", () => {
    const { i, outcomes, settled } = inspector();
    assert.deepEqual(i.translateOne(answer(101)), answer(1));
    const batch = i.translate([
      { jsonrpc: "2.0", id: 102, error: { code: -32603, message: "x" } },
      answer(103, { isError: true, content: [] }),
    ]);
    assert.deepEqual(batch, [
      { jsonrpc: "2.0", id: "two", error: { code: -32603, message: "x" } },
      answer(3, { isError: true, content: [] }),
    ]);
    assert.deepEqual(outcomes, ["one:ok:200", "two:rpc_error:200", "three:tool_error:200"]);
    assert.deepEqual(settled, [101, 102, 103]);
    assert.deepEqual(i.unanswered(), ["1", 5], 'id 1 and id "1" are different requests');
  });

  it("drops answers whose ids were not minted for this stream, and answers with client ids", () => {
    const { i, dropped, outcomes } = inspector();
    assert.equal(i.translateOne(answer(1)), undefined, "a client id never reaches the client from upstream");
    assert.equal(i.translateOne(answer("101")), undefined, 'the string "101" is not the minted 101');
    assert.equal(i.translateOne(answer(999)), undefined);
    assert.equal(i.translateOne({ jsonrpc: "2.0", id: null, result: {} }), undefined, "a result for no request");
    assert.equal(i.translateOne("text"), undefined);
    assert.equal(i.translate([answer(998), answer(997)]), undefined, "a batch with nothing left is dropped whole");
    assert.equal(dropped.length, 7);
    assert.deepEqual(outcomes, [], "no call is completed by an answer that is not its own");
    assert.equal(i.translateOne(answer(101)) !== undefined, true, "the call's own answer still completes it");
  });

  it("passes the server's requests and notifications and errors about no request in particular", () => {
    const { i } = inspector();
    const progress = { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: 1, progress: 1 } };
    const elicit = { jsonrpc: "2.0", id: 7, method: "elicitation/create", params: {} };
    const parseError = { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } };
    assert.equal(i.translateOne(progress), progress);
    assert.equal(i.translateOne(elicit), elicit);
    assert.equal(i.translateOne(parseError), parseError);
  });

  it("removes hidden tools from every tools array of every answer, whatever request it answers", () => {
    const { i, known } = inspector({ hidden: (t) => t === "secret" });
    const tools = () => ({ tools: [{ name: "open" }, { name: "secret" }, { title: "no name" }] });
    assert.deepEqual(i.translateOne(answer(104, tools())), answer("1", { tools: [{ name: "open" }] }));
    assert.deepEqual(
      i.translateOne(answer(105, tools())),
      answer(5, { tools: [{ name: "open" }] }),
      "a ping's answer that carries tools is filtered too",
    );
    assert.equal(known.has("open"), true);
    assert.equal(known.has("secret"), true, "names are learnt from tools/list answers before filtering");
  });

  it("learns tool names only from answers to tools/list", () => {
    const { i, known } = inspector();
    i.translateOne(answer(101, { tools: [{ name: "from_a_call" }] }));
    assert.equal(known.has("from_a_call"), false);
  });

  it("maps a replayed answer on a stream not tied to its request", () => {
    const { i, dropped } = inspector({ replayed: (m) => (m === 500 ? 42 : undefined) });
    assert.deepEqual(i.translateOne(answer(500)), answer(42));
    assert.equal(i.translateOne(answer(501)), undefined);
    assert.equal(dropped.length, 1);
  });

  it("completes calls never answered when the answer ends", () => {
    const { i, outcomes, settled } = inspector();
    i.translateOne(answer(101));
    i.finish("connection_error", 200);
    assert.deepEqual(outcomes, ["one:ok:200", "two:connection_error:200", "three:connection_error:200"]);
    assert.deepEqual(settled, [101, -102, -103, -104, -105]);
    assert.equal(i.awaitingAnswers, false);
  });

  it("completes a call its client cancelled as cancelled when it failed or broke off (no refund: the tool may have run)", () => {
    const { i, outcomes } = inspector({ cancelledByClient: (m) => m === 101 || m === 102 || m === 103 });
    i.translateOne({ jsonrpc: "2.0", id: 101, error: { code: 0, message: "Request cancelled" } });
    i.translateOne(answer(102));
    i.finish("connection_error", 200);
    assert.deepEqual(outcomes, ["one:cancelled:200", "two:ok:200", "three:cancelled:200"]);
  });
});

describe("RequestIds", () => {
  it("mints ids unique across scopes, maps them back, and names outstanding requests for cancellation", () => {
    const ids = new RequestIds();
    const a = ids.mint("session:a", 1);
    const b = ids.mint("session:b", 1);
    const c = ids.mint("session:a", "1");
    assert.equal(new Set([a, b, c]).size, 3);
    assert.equal(ids.clientId("session:a", a), 1);
    assert.equal(ids.clientId("session:a", b), undefined, "another session's id is not mapped");
    assert.equal(ids.outstanding("session:a", 1), a);
    assert.equal(ids.outstanding("session:a", "1"), c);
    ids.answered("session:a", a);
    assert.equal(ids.outstanding("session:a", 1), undefined, "an answered request cannot be cancelled");
    assert.equal(ids.clientId("session:a", a), 1, "but a replay of its answer can still be mapped");
    ids.interrupted("session:a", c);
    assert.equal(ids.outstanding("session:a", "1"), undefined);
    assert.equal(
      ids.clientId("session:a", c),
      "1",
      "an interrupted request's answer can still be mapped when replayed",
    );
    ids.forget("session:a");
    assert.equal(ids.clientId("session:a", c), undefined);
  });

  it("keeps a bounded memory per scope and a bounded number of scopes", () => {
    const ids = new RequestIds(2);
    for (let i = 0; i < 10_000; i++) ids.answered("s", ids.mint("s", i));
    const answered = Array.from({ length: 10_000 }, (_, m) => ids.clientId("s", 1 + m)).filter((x) => x !== undefined);
    assert.deepEqual(answered, [9992, 9993, 9994, 9995, 9996, 9997, 9998, 9999], "only the last answered are kept");
    for (let i = 0; i < 100; i++) ids.interrupted("s", ids.mint("s", i));
    const kept = Array.from({ length: 200 }, (_, m) => ids.clientId("s", 10_001 + m)).filter((x) => x !== undefined);
    assert.equal(kept.length, 32);
    const first = ids.mint("s1", 1);
    ids.mint("s2", 1);
    ids.mint("s3", 1);
    assert.equal(ids.clientId("s1", first), undefined, "the least recently used scope goes first");
    assert.equal(ids.size, 2);
  });

  it("remembers which outstanding requests the client cancelled, until they are settled", () => {
    const ids = new RequestIds();
    const minted = ids.mint("session:a", 7);
    assert.equal(ids.cancel("session:b", 7), undefined, "another scope's request is not cancelled");
    assert.equal(ids.cancelledByClient("session:a", minted), false);
    assert.equal(ids.cancel("session:a", 7), minted);
    assert.equal(ids.cancelledByClient("session:a", minted), true);
    ids.answered("session:a", minted);
    assert.equal(ids.cancelledByClient("session:a", minted), false);
  });
});
