import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeUtf8, JsonInputError, parseStrictJson } from "./strict-json.ts";

const limits = { maxDepth: 64 };
const parse = (text: string) => parseStrictJson(text, limits);

function rejects(text: string, pattern: RegExp): void {
  assert.throws(
    () => parse(text),
    (err: unknown) => err instanceof JsonInputError && pattern.test(err.message),
    text,
  );
}

describe("parseStrictJson", () => {
  it("reads what JSON.parse reads for any JSON value without duplicate keys, or refuses an integer beyond 2^53", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        // fast-check may produce -0 and floats; JSON.stringify makes them valid JSON in any case.
        let read: unknown;
        try {
          read = parse(text).value;
        } catch (err) {
          assert.match(
            (err as Error).message,
            /beyond the integers every server reads alike|cannot be represented exactly/,
          );
          return;
        }
        assert.deepEqual(read, JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it("accepts only values whose serialisation every reader reads as the same numbers", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        let read: unknown;
        try {
          read = parse(JSON.stringify(value)).value;
        } catch {
          return;
        }
        // What the upstream receives is JSON.stringify of what was read: its integer literals must be exact.
        JSON.parse(JSON.stringify(read), (_key, v: unknown, context?: { source?: string }) => {
          if (typeof v === "number" && context?.source !== undefined && /^-?\d+$/.test(context.source)) {
            assert.equal(BigInt(context.source), BigInt(v), `${context.source} would be read as another integer`);
          }
          return v;
        });
      }),
      { numRuns: 1000 },
    );
  });

  it("rejects with JsonInputError (never another error) everything JSON.parse rejects", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json().map((j) => mutate(j)),
        ),
        (text) => {
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
        },
      ),
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
    rejects(
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_flows","name":"delete_flow"}}',
      /duplicate/,
    );
    rejects('{"method":"tools/list","\\u006dethod":"tools/call"}', /duplicate object key "method"/);
  });

  it("bounds nesting depth without exhausting the stack", () => {
    const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
    assert.ok(parse(nested(64)));
    rejects(nested(65), /nested deeper than 64 levels/);
    rejects(nested(1_000_000), /nested deeper than 64 levels/);
    rejects('{"a":'.repeat(200) + "1" + "}".repeat(200), /nested deeper/);
  });

  it("rejects integer digits a double would round, and integers beyond 2^53 that serialise as other digits", () => {
    for (const ok of [
      "9007199254740992",
      "-9007199254740992",
      "123456789012345",
      "10000000000000000000000",
      "1.5",
      "0",
      "-0",
      "1e20",
      "4.5e15",
    ]) {
      assert.equal(parse(ok).value, JSON.parse(ok), ok);
    }
    for (const bad of ["9007199254740993", "-9007199254740993", "100000000000000000000000", "1".repeat(400)]) {
      rejects(`{"id":${bad}}`, /cannot be represented exactly|out of range/);
    }
    // 2^60 exactly, and the way JSON.stringify writes it (which Python reads as another integer).
    for (const bad of [
      "1152921504606846976",
      "1152921504606847000",
      "98564270451588660",
      "1.152921504606846976e18",
      "-98564270451588656",
    ]) {
      rejects(`{"n":${bad}}`, /beyond the integers every server reads alike|cannot be represented exactly/);
    }
    rejects("1e400", /out of range/);
    rejects("-1e400", /out of range/);
  });

  it("reports where the problem is", () => {
    assert.throws(
      () => parse('{"a":1,}'),
      (err: JsonInputError) => err.offset === 7 && /expected a string key/.test(err.message),
    );
    rejects("", /unexpected end/);
    rejects("[1,2] x", /unexpected data after/);
    rejects('"\u0001"', /control character U\+0001/);
    rejects('"\\x"', /invalid escape/);
    rejects('"\\u12G4"', /invalid \\u escape/);
    rejects("\uFEFF{}", /unexpected character U\+FEFF/);
    rejects("NaN", /unexpected character 'N'/);
    rejects("01", /unexpected data/);
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
  const variants = [
    json.slice(0, i),
    `${json.slice(0, i)},${json.slice(i)}`,
    `${json}}`,
    json.replace(/"/, ""),
    `${json.slice(0, i)}\\${json.slice(i)}`,
  ];
  return variants[json.length % variants.length] as string;
}
