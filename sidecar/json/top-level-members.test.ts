import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MAX_DEPTH, topLevelMembers } from "./top-level-members.ts";

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Spaces around some punctuation of a compact JSON text (never inside strings). */
function spaced(text: string, every: number): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const punctuation = !inString && "{}[],:".includes(c) && i % every === 0;
    out += punctuation ? ` ${c} ` : c;
    if (c === '"' && !isEscaped(text, i)) inString = !inString;
  }
  return out;
}

const isEscaped = (text: string, i: number) => {
  let n = 0;
  while (text[i - 1 - n] === "\\") n++;
  return n % 2 === 1;
};

describe("topLevelMembers", () => {
  it("gives each member's decoded name and value span, and the members of the nested object asked for", () => {
    const text = '{"jsonrpc":"2.0", "\\u0069d" : 7,"result":{"content":[{"text":"a\\"}{]["}],"isError":true}}';
    const members = topLevelMembers(text, "result");
    assert.deepEqual(
      members?.map((m) => [m.key, text.slice(m.start, m.end)]),
      [
        ["jsonrpc", '"2.0"'],
        ["id", "7"],
        ["result", '{"content":[{"text":"a\\"}{]["}],"isError":true}'],
      ],
    );
    assert.deepEqual(
      members?.[2]?.members?.map((m) => [m.key, text.slice(m.start, m.end)]),
      [
        ["content", '[{"text":"a\\"}{]["}]'],
        ["isError", "true"],
      ],
    );
  });

  it("reads every compact JSON object, with the keys JSON.parse sees", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.integer({ min: 1, max: 7 }), (value, every) => {
        for (const text of [JSON.stringify(value), spaced(JSON.stringify(value), every)]) {
          const members = topLevelMembers(text, "");
          assert.ok(members, text);
          assert.deepEqual(members.map((m) => m.key).sort(), Object.keys(JSON.parse(text) as object).sort());
          for (const m of members)
            assert.deepEqual(
              JSON.parse(text.slice(m.start, m.end)),
              (JSON.parse(text) as Record<string, unknown>)[m.key],
            );
        }
      }),
    );
  });

  it("accepts no text JSON.parse refuses (random edits of JSON objects)", () => {
    const edit = fc.tuple(fc.nat(), fc.nat({ max: 2 }), fc.constantFrom(...'"\\{}[],: \n\t\u0001tfnu0-.eE9x'));
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        (value, edits) => {
          let text = JSON.stringify(value);
          for (const [at, how, c] of edits) {
            const i = at % (text.length + 1);
            text =
              how === 0
                ? text.slice(0, i) + text.slice(i + 1)
                : how === 1
                  ? text.slice(0, i) + c + text.slice(i)
                  : text.slice(0, i) + c + text.slice(i + 1);
          }
          if (topLevelMembers(text, "") !== undefined) assert.ok(parses(text), `accepted invalid JSON: ${text}`);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("refuses what it leaves to the full parse, and invalid text", () => {
    for (const text of [
      "[1]",
      '"x"',
      "7",
      "null",
      "",
      "{",
      '{"a":1',
      '{"a":1}x',
      '{"a":1}{}',
      '{"a":1,}',
      '{"a" 1}',
      "{a:1}",
      "{'a':1}",
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":-}',
      '{"a":1e}',
      '{"a":+1}',
      '{"a":tru}',
      '{"a":True}',
      '{"a":NaN}',
      '{"a":"\\x"}',
      '{"a":"\\u12G4"}',
      '{"a":"tab\there"}',
      '{"a":[1,]}',
      '{"a":[,1]}',
      '{"a":{"b"}}',
      '{"a":[}',
      '{"a":{]}',
      '{\n"a":1}',
      '{"a":\t1}',
      '\ufeff{"a":1}',
      '{"a":1}\r\n',
      '{"a":"unterminated}',
    ]) {
      assert.equal(topLevelMembers(text, ""), undefined, text);
    }
    assert.ok(topLevelMembers(' { "a" : [ 1 , { "b" : null } ] } ', ""), "plain spaces are read");
    assert.ok(topLevelMembers('{"a":-0.5e+10,"b":[true,false,null,"\\ud83d\\ude00 \\/"]}', ""));
  });

  it("leaves nesting deeper than its bound to the full parse, without using the call stack", () => {
    const nest = (n: number) => `{"a":${"[".repeat(n)}${"]".repeat(n)}}`;
    assert.ok(topLevelMembers(nest(MAX_DEPTH - 2), ""));
    assert.equal(topLevelMembers(nest(MAX_DEPTH), ""), undefined);
    assert.equal(topLevelMembers(nest(100_000), ""), undefined);
  });

  it("stops at a nested member named in stopAt", () => {
    assert.equal(topLevelMembers('{"result":{"tools":[]},"id":1}', "result", ["tools"]), undefined);
    assert.equal(topLevelMembers('{"result":{"t\\u006fols":[]},"id":1}', "result", ["tools"]), undefined);
    assert.ok(
      topLevelMembers('{"result":{"x":{"tools":[]}},"tools":1}', "result", ["tools"]),
      "only the nested object's own members",
    );
  });

  it("skips long strings and runs, and gives up an unterminated string, in linear time", () => {
    const long = `{"a":"${'\\"x'.repeat(200_000)}"}`;
    const start = Date.now();
    assert.ok(topLevelMembers(long, ""));
    assert.equal(topLevelMembers(long.slice(0, -2), ""), undefined);
    // A run too long for the pattern engine's backtracking stack is left to the full parse, not an error.
    const numbers = `{"a":[${Array(2_000_000).fill(1).join(",")}]}`;
    assert.doesNotThrow(() => topLevelMembers(numbers, ""));
    assert.ok(Date.now() - start < 4000);
  });
});
