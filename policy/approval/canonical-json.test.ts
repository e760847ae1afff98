import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalJson, CanonicalJsonError } from "./canonical-json.ts";
import { argumentsDigest, bindingMismatches, type ApprovalBinding } from "./binding.ts";

describe("canonicalJson (RFC 8785)", () => {
  it("writes the RFC's example exactly (§3.2.2)", () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    assert.equal(
      canonicalJson(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts members by UTF-16 code units (§3.2.3)", () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    ) as Record<string, string>;
    const order = Object.values(JSON.parse(canonicalJson(input)) as Record<string, string>);
    // Integer-like keys are enumerated first by JavaScript objects; compare the serialised order instead.
    const text = canonicalJson(input);
    const positions = [
      "Carriage Return",
      "One",
      "Control",
      "Latin Small Letter O With Diaeresis",
      "Euro Sign",
      "Emoji: Grinning Face",
      "Hebrew Letter Dalet With Dagesh",
    ].map((v) => text.indexOf(v));
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
    );
    assert.equal(order.length, 7);
  });

  it("writes numbers the way ECMAScript does (Appendix B)", () => {
    const vectors: Array<[string, string]> = [
      ["0000000000000000", "0"],
      ["8000000000000000", "0"],
      ["0000000000000001", "5e-324"],
      ["7fefffffffffffff", "1.7976931348623157e+308"],
      ["4340000000000000", "9007199254740992"],
      ["4430000000000000", "295147905179352830000"],
      ["44b52d02c7e14af5", "9.999999999999997e+22"],
      ["44b52d02c7e14af6", "1e+23"],
      ["44b52d02c7e14af7", "1.0000000000000001e+23"],
      ["444b1ae4d6e2ef4e", "999999999999999700000"],
      ["444b1ae4d6e2ef4f", "999999999999999900000"],
      ["444b1ae4d6e2ef50", "1e+21"],
      ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
      ["3eb0c6f7a0b5ed8d", "0.000001"],
      ["41b3de4355555553", "333333333.3333332"],
      ["41b3de4355555554", "333333333.33333325"],
      ["41b3de4355555555", "333333333.3333333"],
      ["43143ff3c1cb0959", "1424953923781206.2"],
    ];
    for (const [bits, text] of vectors)
      assert.equal(canonicalJson(Buffer.from(bits, "hex").readDoubleBE(0)), text, bits);
  });

  it("refuses what JSON cannot carry", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, () => 1, Symbol("s"), 10n]) {
      assert.throws(() => canonicalJson({ a: [bad] }), CanonicalJsonError);
    }
  });

  it("gives one text for every encoding of the same value (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 4 }), (value, indent) => {
        const reordered = JSON.parse(JSON.stringify(shuffleKeys(value), null, indent)) as unknown;
        assert.equal(canonicalJson(reordered), canonicalJson(value));
        assert.deepEqual(JSON.parse(canonicalJson(value)), JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });
});

describe("argumentsDigest and bindings", () => {
  it("is the SHA-256 of the canonical text, the same for any key order or spacing", () => {
    const a = argumentsDigest(JSON.parse('{"namespace": "dev", "execution_ids": ["e1", "e2"], "n": 1.0}'));
    const b = argumentsDigest(JSON.parse('{"n":1,"execution_ids":["e1","e2"],"namespace":"\\u0064ev"}'));
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(argumentsDigest({}), "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    assert.notEqual(
      argumentsDigest({ execution_ids: ["e1", "e2"] }),
      argumentsDigest({ execution_ids: ["e2", "e1"] }),
      "array order matters",
    );
    assert.notEqual(argumentsDigest({ n: 1 }), argumentsDigest({ n: "1" }));
  });

  it("names every field of a binding that differs", () => {
    const base: ApprovalBinding = {
      policy: "kestra",
      policyGeneration: 3,
      tool: "resume_execution",
      caller: "alice",
      session: "0123456789abcdef",
      argsDigest: "a".repeat(64),
    };
    assert.deepEqual(bindingMismatches(base, { ...base }), []);
    assert.deepEqual(bindingMismatches(base, { ...base, session: undefined, caller: "bob" }), ["caller", "session"]);
    assert.deepEqual(bindingMismatches(base, { ...base, policyGeneration: 4, argsDigest: "b".repeat(64) }), [
      "policyGeneration",
      "argsDigest",
    ]);
  });
});

function shuffleKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shuffleKeys);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value).reverse();
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v)]));
}
