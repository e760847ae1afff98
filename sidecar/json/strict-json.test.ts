import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeUtf8, JsonInputError, parseStrictJson } from "./strict-json.ts";

const limits = { maxDepth: 64 };
const parse = (text: string) => parseStrictJson(text, limits);

function rejects(text: string, pattern: RegExp): void {
  assert.throws(() => parse(text), (err: unknown) => err instanceof JsonInputError && pattern.test(err.message), text);
}

describe("parseStrictJson", () => {
  it("reads what JSON.parse reads for any JSON value without duplicate keys", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        // fast-check may produce -0 and floats; JSON.stringify makes them valid JSON in any case.
        assert.deepEqual(parse(text).value, JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it("rejects with JsonInputError (never another error) everything JSON.parse rejects", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json().map((j) => mutate(j))), (text) => {
        let nativeOk = true;
        try {
          JSON.parse(text);
        } catch {
          nativeOk = false;
        }
        try {
          parse(text);
          assert.ok(nativeOk, `accepted ${JSON.stringify(text)} which JSON.parse rejects`);
        } catch (err) {
          assert.ok(err instanceof JsonInputError, `threw ${String(err)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("rejects an object iff two of its keys decode to the same string, however they are escaped", () => {
    const key = fc.constantFrom("a", "b", "name", "é", "\u0000", "arguments");
    fc.assert(
      fc.property(fc.array(fc.tuple(key, fc.boolean()), { minLength: 1, maxLength: 6 }), (entries) => {
        const text = `{${entries.map(([k, escape], i) => `${escape ? escapeAll(k) : JSON.stringify(k)}:${i}`).join(",")}}`;
        const unique = new Set(entries.map(([k]) => k)).size === entries.length;
        if (unique) assert.deepEqual(parse(text).value, JSON.parse(text));
        else rejects(text, /duplicate object key/);
      }),
      { numRuns: 500 },
    );
  });

  it("finds duplicates in large objects and deep inside the document", () => {
    const many = Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`);
    assert.equal(Object.keys(parse(`{${many.join(",")}}`).value as object).length, 40);
    rejects(`{${many.join(",")},"k7":1}`, /duplicate object key "k7"/);
    rejects('{"params":{"arguments":{"x":[{"y":1,"y":2}]}}}', /duplicate object key "y"/);
    // The classic smuggling case: two names for the tool.
    rejects('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_flows","name":"delete_flow"}}', /duplicate/);
    rejects('{"method":"tools/list","\\u006dethod":"tools/call"}', /duplicate object key "method"/);
  });

  it("bounds nesting depth without exhausting the stack", () => {
    const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
    assert.ok(parse(nested(64)));
    rejects(nested(65), /nested deeper than 64 levels/);
    rejects(nested(1_000_000), /nested deeper than 64 levels/);
    rejects('{"a":'.repeat(200) + "1" + "}".repeat(200), /nested deeper/);
  });

  it("rejects integer digits a double would round, and keeps exact and serialiser-written ones", () => {
    // 98564270451588660 is how JSON.stringify writes the double 98564270451588656: kept.
    for (const ok of ["9007199254740992", "-9007199254740992", "123456789012345", "10000000000000000000000", "98564270451588660", "1e400", "1.5", "0", "-0"]) {
      assert.equal(parse(ok).value, JSON.parse(ok), ok);
    }
    for (const bad of ["9007199254740993", "-9007199254740993", "100000000000000000000000", "1".repeat(400)]) {
      rejects(`{"id":${bad}}`, /cannot be represented exactly/);
    }
  });

  it("reports where the problem is", () => {
    assert.throws(() => parse('{"a":1,}'), (err: JsonInputError) => err.offset === 7 && /expected a string key/.test(err.message));
    rejects("", /unexpected end/);
    rejects("[1,2] x", /unexpected data after/);
    rejects('"\u0001"', /control character U\+0001/);
    rejects('"\\x"', /invalid escape/);
    rejects('"\\u12G4"', /invalid \\u escape/);
    rejects("\uFEFF{}", /unexpected character U\+FEFF/);
    rejects("NaN", /unexpected character 'N'/);
    rejects("01", /unexpected data/);
  });

  it("records the exact source text of each top-level array element", () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 4 }), { minLength: 1, maxLength: 8 }), (values) => {
        const text = `[ ${values.map((v) => JSON.stringify(v)).join(" ,\n")} ]`;
        const { elements } = parse(text);
        assert.ok(elements);
        assert.equal(elements.length, values.length);
        elements.forEach((span, i) => assert.deepEqual(JSON.parse(text.slice(span.start, span.end)), JSON.parse(JSON.stringify(values[i]))));
      }),
      { numRuns: 300 },
    );
    assert.equal(parse('{"a":[1]}').elements, undefined);
    assert.deepEqual(parse("[]").elements, []);
  });
});

describe("decodeUtf8", () => {
  it("decodes UTF-8 and rejects invalid byte sequences", () => {
    assert.equal(decodeUtf8(new TextEncoder().encode('{"a":"é"}')), '{"a":"é"}');
    assert.throws(() => decodeUtf8(Uint8Array.from([0x7b, 0xff, 0x7d])), /not valid UTF-8/);
    // An overlong encoding of '"' must not become a quote.
    assert.throws(() => decodeUtf8(Uint8Array.from([0xc0, 0xa2])), /not valid UTF-8/);
  });
});

function escapeAll(s: string): string {
  return `"${[...s].map((ch) => `\\u${(ch.codePointAt(0) as number).toString(16).padStart(4, "0")}`).join("")}"`;
}

/** Small corruptions of valid JSON, to reach the scanner's error paths. */
function mutate(json: string): string {
  if (json.length === 0) return json;
  const i = json.length >> 1;
  const variants = [json.slice(0, i), `${json.slice(0, i)},${json.slice(i)}`, `${json}}`, json.replace(/"/, ""), `${json.slice(0, i)}\\${json.slice(i)}`];
  return variants[json.length % variants.length] as string;
}
