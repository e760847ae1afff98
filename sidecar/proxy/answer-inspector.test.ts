import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { UpstreamOutcome } from "../enforcement/outcome.ts";
import { KnownTools } from "../enforcement/tool-names.ts";
import { idKey } from "../mcp/jsonrpc.ts";
import { AnswerInspector, type PendingToolCall } from "./answer-inspector.ts";
import { mergeIntoBatch } from "./relay.ts";

function inspector(hidden?: (t: string) => boolean) {
  const outcomes: string[] = [];
  const call = (name: string): PendingToolCall => ({ complete: (o: UpstreamOutcome, s?: number) => outcomes.push(`${name}:${o}:${s}`) });
  const toolCalls = new Map([[idKey(1), call("one")], [idKey("two"), call("two")], [idKey(3), call("three")], [idKey(4), call("four")]]);
  const known = new KnownTools();
  const i = new AnswerInspector({ toolCalls, toolLists: new Set([idKey(9)]), hidden, knownTools: known, status: 200 });
  return { i, outcomes, known };
}

describe("AnswerInspector", () => {
  it("completes tool calls with the outcome their answers show", () => {
    const { i, outcomes } = inspector();
    assert.equal(i.inspectText('{"jsonrpc":"2.0","id":1,"result":{"content":[]}}'), undefined);
    i.inspectText('[{"jsonrpc":"2.0","id":"two","error":{"code":-32603,"message":"x"}},{"jsonrpc":"2.0","id":3,"result":{"isError":true,"content":[]}}]');
    i.inspectText('{"jsonrpc":"2.0","method":"notifications/progress","params":{}}');
    i.inspectText("not json");
    assert.deepEqual(outcomes, ["one:ok:200", "two:rpc_error:200", "three:tool_error:200"]);
    i.finish("unknown", 200);
    assert.deepEqual(outcomes.at(-1), "four:unknown:200");
  });

  it("judges the sole call of a POST without parsing when its answer names no deciding field, and parses otherwise", () => {
    const outcomes: string[] = [];
    const make = () =>
      new AnswerInspector({
        toolCalls: new Map([[idKey(7), { complete: (o: UpstreamOutcome) => outcomes.push(o) }]]),
        toolLists: new Set(),
        hidden: undefined,
        knownTools: new KnownTools(),
        status: 200,
        soleRequest: idKey(7),
      });
    make().inspectText('{"result":{"content":[{"type":"text","text":"{\\"error\\":1}"}]},"jsonrpc":"2.0","id":7}');
    make().inspectText('{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"boom"}}');
    make().inspectText('{"jsonrpc":"2.0","id":7,"result":{"isError":true,"content":[]}}');
    const notified = make();
    notified.inspectText('{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}');
    notified.inspectText("");
    assert.deepEqual(outcomes, ["ok", "rpc_error", "tool_error"], "a notification or a priming event completes nothing");
  });

  it("keeps track of the forwarded requests still unanswered, whatever their method", () => {
    const requests = new Map<string, string | number>([[idKey(1), 1], [idKey("b"), "b"], [idKey(3), 3]]);
    const i = new AnswerInspector({ toolCalls: new Map(), toolLists: new Set(), requests, hidden: undefined, knownTools: new KnownTools(), status: 200 });
    assert.equal(i.awaitingAnswers, true);
    i.inspectText('{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1}}');
    i.inspectText('[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":"3","error":{"code":1,"message":"x"}}]');
    assert.deepEqual(i.unanswered(), ["b", 3], "id 3 and id \"3\" are different requests");
    i.inspectText('{"jsonrpc":"2.0","id":"b","error":{"code":1,"message":"x"}}');
    i.inspectText('{"jsonrpc":"2.0","id":3,"result":{}}');
    assert.equal(i.awaitingAnswers, false);
  });

  it("takes any plain message on the answer to a sole request as its answer, without parsing", () => {
    const requests = new Map<string, string | number>([[idKey(4), 4]]);
    const i = new AnswerInspector({ toolCalls: new Map(), toolLists: new Set(), requests, hidden: undefined, knownTools: new KnownTools(), status: 200, soleRequest: idKey(4) });
    i.inspectText('{"jsonrpc":"2.0","method":"notifications/message","params":{}}');
    assert.equal(i.awaitingAnswers, true, "a notification is no answer");
    i.inspectText('{"result":{"contents":[]},"jsonrpc":"2.0","id":4}');
    assert.deepEqual(i.unanswered(), []);
  });

  it("recognises a 2026-07-28 InputRequiredResult", () => {
    const { i, outcomes } = inspector();
    i.inspectText('{"jsonrpc":"2.0","id":4,"result":{"resultType":"input_required","inputRequests":{}}}');
    assert.deepEqual(outcomes, ["four:input_required:200"]);
  });

  it("removes hidden tools from a tools/list answer, keeps every other field, and learns all names", () => {
    const { i, known } = inspector((t) => t === "secret");
    const text = '{"jsonrpc":"2.0","id":9,"result":{"tools":[{"name":"a","x-extra":1},{"name":"secret"}],"nextCursor":"c2","_meta":{"k":true}}}';
    const out = i.inspectText(text);
    assert.deepEqual(JSON.parse(out ?? ""), { jsonrpc: "2.0", id: 9, result: { tools: [{ name: "a", "x-extra": 1 }], nextCursor: "c2", _meta: { k: true } } });
    assert.ok(known.has("secret") && known.has("a"));
    // The same id again is not a tools/list answer any more.
    assert.equal(i.inspectText(text), undefined);
  });

  it("leaves a tools/list answer byte for byte alone when nothing in it is hidden", () => {
    const { i } = inspector((t) => t === "secret");
    assert.equal(i.inspectText('{"jsonrpc":"2.0","id":9,"result":{"tools":[{"name":"a"}]}}'), undefined);
  });
});

describe("mergeIntoBatch", () => {
  it("appends the sidecar's answers and keeps the upstream's bytes", () => {
    assert.equal(mergeIntoBatch(' [ {"id":1, "result":{}} ] ', [{ id: 2 }]), '[ {"id":1, "result":{}} ,{"id":2}]');
    assert.equal(mergeIntoBatch('{"id":1}', [{ id: 2 }]), '[{"id":1},{"id":2}]');
    assert.equal(mergeIntoBatch("[]", [{ id: 2 }]), '[{"id":2}]');
  });
});
