// The answer inspector with result rules: an answer a fast reading could relay as written is read
// in full when its call has result rules, the result is replaced before the call completes (so the
// audit line has the verdict), and a replayed answer that cannot be tied to its call is withheld.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import type { UpstreamOutcome } from "../tool-call.ts";
import { KnownTools } from "../enforcement/tool-names.ts";
import { AnswerInspector, type ForwardedRequest } from "./answer-inspector.ts";
import type { ResultGuard } from "./result-guard.ts";

const log = pino({ level: "silent" });

function guard(
  replace: (result: unknown) => unknown,
): ResultGuard & { seen: { result: unknown; bytes: number | undefined }[] } {
  const seen: { result: unknown; bytes: number | undefined }[] = [];
  return {
    seen,
    verdict: undefined,
    maxBytes: 100,
    oversized: () => ({ content: [{ type: "text", text: "too large" }], isError: true }),
    notification: (params) => params,
    inspect(result, bytes) {
      seen.push({ result, bytes });
      return replace(result);
    },
  };
}

function inspector(forwarded: Map<number, ForwardedRequest>, unattributedResult?: (r: unknown) => unknown) {
  return new AnswerInspector({
    forwarded,
    hidden: undefined,
    knownTools: new KnownTools(),
    status: 200,
    log,
    replayed: (m) => (m === 900 ? 9 : undefined),
    unattributedResult,
  });
}

describe("AnswerInspector with result rules", () => {
  it("reads the answer of a call with result rules in full and relays the replaced result", () => {
    const outcomes: UpstreamOutcome[] = [];
    const g = guard(() => ({ content: [{ type: "text", text: "[REDACTED:x]" }] }));
    const i = inspector(
      new Map([[7, { clientId: "a", method: "tools/call", call: { complete: (o) => outcomes.push(o), results: g } }]]),
    );
    const text = '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"AKIAZ7Q3M5R2TY8WXK4P"}]}}';
    assert.equal(i.fastTranslate(text), undefined, "no fast path");
    assert.equal(
      i.translateText(text),
      '{"jsonrpc":"2.0","id":"a","result":{"content":[{"type":"text","text":"[REDACTED:x]"}]}}',
    );
    assert.deepEqual(
      g.seen.map((s) => s.bytes),
      [Buffer.byteLength(text)],
    );
    assert.deepEqual(outcomes, ["ok"]);
  });

  it("leaves errors alone (no result to inspect) and the fast path to calls without rules", () => {
    const g = guard(() => "never");
    const i = inspector(
      new Map<number, ForwardedRequest>([
        [1, { clientId: 1, method: "tools/call", call: { complete: () => undefined, results: g } }],
        [2, { clientId: 2, method: "tools/call", call: { complete: () => undefined } }],
      ]),
    );
    assert.equal(
      i.translateText('{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"x"}}'),
      '{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"x"}}',
    );
    assert.deepEqual(g.seen, []);
    assert.deepEqual(i.fastTranslate('{"jsonrpc":"2.0","id":2,"result":{"content":[]}}'), {
      text: '{"jsonrpc":"2.0","id":2,"result":{"content":[]}}',
    });
  });

  it("withholds a replayed result it cannot tie to a call, and passes other messages", () => {
    const i = inspector(new Map(), () => ({ content: [{ type: "text", text: "withheld" }], isError: true }));
    assert.equal(
      i.translateText('{"jsonrpc":"2.0","id":900,"result":{"content":[{"type":"text","text":"secret"}]}}'),
      '{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"withheld"}],"isError":true}}',
    );
    const progress = '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}';
    assert.equal(i.translateText(progress), progress, "notifications pass as written");
  });

  it("withholds the result a tasks/result request fetches: it names a task, not the tool call", () => {
    const i = inspector(new Map<number, ForwardedRequest>([[8, { clientId: 8, method: "tasks/result" }]]), () => ({
      content: [],
      isError: true,
    }));
    assert.equal(
      i.translateText('{"jsonrpc":"2.0","id":8,"result":{"content":[{"type":"text","text":"secret"}]}}'),
      '{"jsonrpc":"2.0","id":8,"result":{"content":[],"isError":true}}',
    );
  });

  it("answers calls over their size bound with the refusal", () => {
    const outcomes: UpstreamOutcome[] = [];
    const i = inspector(
      new Map([
        [
          5,
          {
            clientId: "c",
            method: "tools/call",
            call: { complete: (o) => outcomes.push(o), results: guard((r) => r) },
          },
        ],
      ]),
    );
    assert.equal(i.resultBound(), 100);
    assert.deepEqual(i.withholdOversized(), [
      { jsonrpc: "2.0", id: "c", result: { content: [{ type: "text", text: "too large" }], isError: true } },
    ]);
    assert.deepEqual(outcomes, ["ok"]);
    assert.equal(i.awaitingAnswers, false);
    const mixed = inspector(new Map<number, ForwardedRequest>([[1, { clientId: 1, method: "ping" }]]));
    assert.equal(mixed.resultBound(), undefined, "a request without a bound: read up to the inspection bound");
  });
});
