import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import type { UpstreamOutcome } from "../tool-call.ts";
import { KnownTools } from "../enforcement/tool-names.ts";
import { AnswerInspector, type ForwardedRequest } from "./answer-inspector.ts";
import { readAnswerText } from "./answer-text.ts";

const log = pino({ level: "silent" });

/** An inspector and everything it did: calls completed, requests answered, drops, list changes. */
function setup(hidden: boolean) {
  const effects: string[] = [];
  const call = (n: number) => ({
    complete: (o: UpstreamOutcome, s?: number) => effects.push(`complete ${n} ${o} ${s}`),
  });
  const forwarded = new Map<number, ForwardedRequest>([
    [101, { clientId: 1, method: "tools/call", call: call(101) }],
    [102, { clientId: 'two "quoted" ☃', method: "tools/call", call: call(102) }],
    [103, { clientId: "1", method: "tools/list" }],
    [104, { clientId: 4, method: "ping" }],
  ]);
  const known = new KnownTools();
  known.learnTools = (tools) => effects.push(`learn ${tools.length}`);
  known.toolListChanged = () => (effects.push("list changed"), Promise.resolve());
  const inspector = new AnswerInspector({
    forwarded,
    replayed: (minted) => (minted === 90 ? "replayed" : undefined),
    answered: (m) => effects.push(`answered ${m}`),
    hidden: hidden ? (t) => t === "secret" : undefined,
    knownTools: known,
    status: 200,
    log,
    onDropped: () => effects.push("dropped"),
  });
  return { inspector, effects };
}

/** The full path, the reference: parse, translate, serialise. */
function fullPath(text: string, hidden: boolean) {
  const { inspector, effects } = setup(hidden);
  let out: string | undefined | null;
  try {
    const translated = inspector.translate(JSON.parse(text));
    out = translated === undefined ? undefined : JSON.stringify(translated);
  } catch {
    out = null;
  }
  return { out, effects };
}

function fastPath(text: string, hidden: boolean) {
  const { inspector, effects } = setup(hidden);
  return { out: inspector.translateText(text), effects };
}

function assertSame(text: string, hidden = true): void {
  const full = fullPath(text, hidden);
  const fast = fastPath(text, hidden);
  assert.deepEqual(fast.effects, full.effects, text);
  // The same message: the fast path's text, read and written canonically, is the full path's output.
  // (It keeps the upstream's spellings, such as `-0` or `1.0`, which read as the same values.)
  const canonical = typeof fast.out === "string" ? JSON.stringify(JSON.parse(fast.out)) : fast.out;
  assert.equal(canonical, full.out, text);
}

// ---- random answers, written with random (valid) spellings --------------------------------------

type Pairs = [string, Node][];
type Node = { pairs: Pairs } | { number: number } | { json: unknown };

const awkward = fc.string({ unit: fc.constantFrom(...'ab"\\{}[]:,/ \u2028é😀\u0000\n', "id", "tools", "\\u0069d") });
const scalar = fc.oneof(fc.jsonValue({ maxDepth: 3 }), awkward, fc.string({ unit: "binary" }));
const id = fc.oneof(
  fc.constantFrom(101, 102, 103, 104, 90, 1, 999, -0, 101.5),
  fc.integer(),
  fc.constantFrom("101", null, true, { id: 101 }),
);
const tool = fc.oneof(
  fc.record({ name: fc.constantFrom("secret", "open", "other") }),
  fc.record({ title: fc.string() }),
  fc.constant(7),
);
const resultPair: fc.Arbitrary<[string, Node]> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(
      fc.constantFrom("content", "structuredContent", "id", "x"),
      scalar.map((json): Node => ({ json })),
    ),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(
      fc.constant("isError"),
      fc.constantFrom(true, false, "true", 1, null).map((json): Node => ({ json })),
    ),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(
      fc.constant("resultType"),
      fc.constantFrom("input_required", "complete", "input\u005frequired", 5).map((json): Node => ({ json })),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constant("tools"),
      fc.array(tool, { maxLength: 4 }).map((json): Node => ({ json })),
    ),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(
      fc.constant("nested"),
      fc.record({ tools: fc.array(tool), id: id }).map((json): Node => ({ json })),
    ),
  },
);
// Mostly distinct members (sometimes a duplicate, which the full path must then read).
const resultPairs: fc.Arbitrary<Pairs> = fc.oneof(
  { weight: 4, arbitrary: fc.uniqueArray(resultPair, { maxLength: 5, selector: ([k]) => k }) },
  { weight: 1, arbitrary: fc.array(resultPair, { maxLength: 5 }) },
);
const other = fc.tuple(
  fc.constantFrom("jsonrpc", "params", "_meta", "__proto__"),
  scalar.map((json): Node => ({ json })),
);
const member: fc.Arbitrary<[string, Node]> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(
      fc.constant("id"),
      id.map((n): Node => (typeof n === "number" ? { number: n } : { json: n })),
    ),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(
      fc.constant("result"),
      fc.oneof(
        { weight: 5, arbitrary: resultPairs.map((pairs): Node => ({ pairs })) },
        scalar.map((json): Node => ({ json })),
      ),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constant("error"),
      fc.record({ code: fc.integer(), message: awkward }).map((json): Node => ({ json })),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constant("method"),
      fc
        .constantFrom("notifications/tools/list_changed", "notifications/message", "sampling/createMessage", 5)
        .map((json): Node => ({ json })),
    ),
  },
  { weight: 2, arbitrary: other },
);
const numericId = fc.constantFrom(101, 102, 103, 104, 90, 999, -0).map((number): [string, Node] => ["id", { number }]);
const answerPairs = fc
  .tuple(
    numericId,
    fc.oneof(
      resultPairs.map((pairs): [string, Node] => ["result", { pairs }]),
      member,
    ),
    fc.array(fc.oneof({ weight: 4, arbitrary: other }, { weight: 1, arbitrary: member }), { maxLength: 2 }),
    fc.nat(),
  )
  .map(([idPair, body, extra, at]): Pairs => {
    const pairs: Pairs = [["jsonrpc", { json: "2.0" }], idPair, body];
    pairs.splice(at % 4, 0, ...extra);
    return pairs;
  });
const message = fc.oneof(
  { weight: 3, arbitrary: answerPairs },
  { weight: 1, arbitrary: fc.array(member, { maxLength: 6 }) },
);

/** Writes a node with random spaces, escaped key names and number spellings, all valid JSON. */
function write(node: Node, r: () => number): string {
  const sp = () => (r() < 0.2 ? " ".repeat(1 + Math.floor(r() * 3)) : r() < 0.005 ? "\n" : "");
  if ("json" in node) return JSON.stringify(node.json) ?? "null";
  if ("number" in node) {
    const n = node.number;
    const spellings = [
      JSON.stringify(n),
      Number.isInteger(n) ? `${n}.0` : String(n),
      `${n}e0`,
      Object.is(n, -0) ? "-0" : String(n),
    ];
    return spellings[Math.floor(r() * spellings.length)] as string;
  }
  const key = (k: string) =>
    r() < 0.15 && k.length > 0
      ? `"\\u${k.charCodeAt(0).toString(16).padStart(4, "0")}${JSON.stringify(k).slice(2)}`
      : JSON.stringify(k);
  return `{${sp()}${node.pairs.map(([k, v]) => `${key(k)}${sp()}:${sp()}${write(v, r)}${sp()}`).join(`,${sp()}`)}}`;
}

function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

describe("answer texts: the fast path against the full parse", () => {
  it("relays what the full path relays and completes calls alike, for random JSON-RPC answers", () => {
    let fast = 0;
    fc.assert(
      fc.property(
        message,
        fc.integer(),
        fc.boolean(),
        fc.constantFrom("", "", "", " ", "x", "]", "\n"),
        (pairs, seed, hidden, tail) => {
          const text =
            write({ pairs }, random(seed)) + (tail === "x" || tail === "]" ? (seed % 4 === 0 ? tail : "") : tail);
          if (readAnswerText(text)) fast++;
          assertSame(text, hidden);
          assertSame(`[${text}]`, hidden);
        },
      ),
      { numRuns: 4000 },
    );
    assert.ok(fast > 800, `the fast path read only ${fast} of 4000 answers`);
  });

  it("reads the answers it is meant for", () => {
    assert.deepEqual(readAnswerText('{"jsonrpc":"2.0","id":101,"result":{"content":[],"isError":true}}'), {
      kind: "answer",
      minted: 101,
      idStart: 22,
      idEnd: 25,
      outcome: "tool_error",
    });
    assert.equal(
      fastPath('{"jsonrpc":"2.0","id":102,"result":{"content":[{"type":"text","text":"{\\"id\\":101}"}]}}', true).out,
      '{"jsonrpc":"2.0","id":"two \\"quoted\\" ☃","result":{"content":[{"type":"text","text":"{\\"id\\":101}"}]}}',
    );
    const changed = '{"method":"notifications/tools/list_changed", "jsonrpc":"2.0"}';
    assert.deepEqual(readAnswerText(changed), { kind: "message", method: "notifications/tools/list_changed" });
    assert.deepEqual(
      fastPath(changed, true),
      { out: changed, effects: ["list changed"] },
      "passed unchanged, the tools listed again",
    );
    assert.deepEqual(fastPath('{"jsonrpc":"2.0","id":999,"result":{}}', true), {
      out: undefined,
      effects: ["dropped"],
    });
    assert.deepEqual(
      readAnswerText('{"id":101,"error":{"code":1,"message":"m"},"result":{"resultType":"input_required"}}')?.kind,
      "answer",
    );
  });

  it("leaves every doubtful answer to the full parse, with the same result", () => {
    const cases = [
      '{"id":101,"id":102,"result":{}}', // a duplicate id: JSON.parse keeps the last
      '{"id":101,"\\u0069d":102,"result":{}}', // the same, spelled with an escape
      '{"id":101,"result":{},"result":{"isError":true}}',
      '{"id":101,"result":{"isError":false,"isError":true}}',
      '{"id":101,"result":{"resultType":"complete","resultType":"input_required"}}',
      '{"id":103,"result":{"tools":[{"name":"secret"},{"name":"open"}]}}', // tools: filtered and learnt by the full path
      '{"id":101,"result":{"t\\u006fols":[{"name":"secret"}]}}',
      '{"id":101,"result":{"content":[],"tools":[{"name":"secret"}]}}', // tools hidden in a tool call's result
      '{"id":101,"result":{"content":[],"tools":[{"name":"secret"}]},"result":{"content":[]}}',
      '{"id":101,"method":"notifications/x","method":5,"result":{}}',
      '{"id":"101","result":{}}',
      '{"id":101.0,"result":{}}',
      '{"id":1.01e2,"result":{"isError":true}}',
      '{"id":101,"result":{}} ',
      '{"id":101,"result":{}}x', // trailing garbage: refused by both
      '{"id":101,"result":{}}{"id":102,"result":{}}',
      '{"id":101,"result":{"a":"\\x"}}', // an invalid escape: refused by both
      '{"id":101,"result":{"a":[1,]}}',
      '{"result":{"x":{"id":101}},"x":"\\"id\\":101"}', // "id" only nested and inside a string: dropped by both
      '{"id":null,"error":{"code":1,"message":"m"}}',
      '{"id":101}',
      '{"id":101,"result":null}',
      '{"id":101,"result":[{"tools":[]}]}',
      `{"id":101,"result":{"a":${"[".repeat(2000)}${"]".repeat(2000)}}}`, // deeply nested
      '{"id":90,"result":{"isError":true}}', // a replayed answer: mapped, no call completed
      '{"id":999,"result":{}}',
      '{\n"id":101,\r\n"result":{}}',
      '{"id":101,"result":{"isError":"true"}}',
      '{"\\u0069d":101,"result":{}}',
      '{"id":101,"result":{"resultType":"input\\u005frequired"}}',
    ];
    for (const text of cases) {
      assertSame(text);
      assertSame(text, false);
    }
    for (const text of cases.slice(0, 11)) assert.equal(readAnswerText(text), undefined, text);
  });
});
