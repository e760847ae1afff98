import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalJson } from "../approval/canonical-json.ts";
import { DIGEST_PATTERN, DIGESTED_FIELDS, definitionDigest } from "./definition-digest.ts";

const json = fc.jsonValue({ maxDepth: 3 });
/** A tools/list entry with any subset of the digested fields, plus fields that are not digested. */
const tool = fc.record(
  {
    name: fc.string({ minLength: 1, maxLength: 20 }),
    title: fc.string(),
    description: fc.string(),
    inputSchema: fc.dictionary(fc.string(), json, { maxKeys: 4 }),
    outputSchema: fc.dictionary(fc.string(), json, { maxKeys: 4 }),
    annotations: fc.dictionary(fc.string(), json, { maxKeys: 4 }),
    _meta: fc.dictionary(fc.string(), json, { maxKeys: 4 }),
    icons: fc.array(json, { maxLength: 2 }),
  },
  { requiredKeys: ["name"] },
);

/** The same value with every object's keys in another order. */
function reordered(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => reordered(v, seed + i));
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  const rotated = entries.length
    ? [...entries.slice(seed % entries.length), ...entries.slice(0, seed % entries.length)].reverse()
    : entries;
  return Object.fromEntries(rotated.map(([k, v]) => [k, reordered(v, seed + 1)]));
}

/** Every place inside a value: [] is the value itself. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const inner = Array.isArray(value)
    ? value.flatMap((v, i) => paths(v, [...at, i]))
    : typeof value === "object" && value !== null
      ? Object.entries(value).flatMap(([k, v]) => paths(v, [...at, k]))
      : [];
  return [at, ...inner];
}

function replaceAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const head = path[0] as string | number;
  const rest = path.slice(1);
  const copy = (Array.isArray(value) ? [...(value as unknown[])] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head] = replaceAt(copy[head], rest, replacement);
  return copy;
}

describe("tool definition digests", () => {
  it("are sha256: and 64 hex digits", () => {
    assert.match(definitionDigest({ name: "a" }), DIGEST_PATTERN);
  });

  it("follow RFC 8785 for member order and numbers", () => {
    assert.equal(
      canonicalJson({ b: [1e21, 0.000001, -0, 1.5e-7], a: { "\u20ac": 1, "\r": 2, "\ud83d\ude00": 3, "\ufb33": 4 } }),
      '{"a":{"\\r":2,"\u20ac":1,"\ud83d\ude00":3,"\ufb33":4},"b":[1e+21,0.000001,0,1.5e-7]}',
    );
    assert.throws(() => canonicalJson({ a: Number.NaN }), /NaN has no JSON form/);
  });

  it("do not depend on key order or whitespace", () => {
    fc.assert(
      fc.property(tool, fc.nat(), fc.integer({ min: 0, max: 4 }), (t, seed, indent) => {
        const reformatted = JSON.parse(JSON.stringify(reordered(t, seed), null, indent)) as unknown;
        assert.equal(definitionDigest(reformatted), definitionDigest(t));
      }),
      { numRuns: 300 },
    );
  });

  it("change with any change to any digested field", () => {
    fc.assert(
      fc.property(tool, fc.constantFrom(...DIGESTED_FIELDS), fc.nat(), json, (t, field, pick, replacement) => {
        const base = { ...t, [field]: (t as Record<string, unknown>)[field] ?? {} };
        const places = paths(base[field as keyof typeof base]);
        const path = [field, ...(places[pick % places.length] as (string | number)[])];
        const changed = replaceAt(base, path, replacement) as Record<string, unknown>;
        fc.pre(canonicalJson(changed[field]) !== canonicalJson(base[field as keyof typeof base]));
        assert.notEqual(definitionDigest(changed), definitionDigest(base));
      }),
      { numRuns: 500 },
    );
  });

  it("change when a digested field appears or goes away, and not for other fields", () => {
    fc.assert(
      fc.property(tool, fc.constantFrom(...DIGESTED_FIELDS.filter((f) => f !== "name")), json, (t, field, extra) => {
        const without = { ...t } as Record<string, unknown>;
        delete without[field];
        assert.notEqual(definitionDigest({ ...without, [field]: extra }), definitionDigest(without));
        assert.equal(
          definitionDigest({ ...without, icons: [extra], execution: { taskSupport: "optional" } }),
          definitionDigest({ ...without, icons: [] }),
        );
      }),
      { numRuns: 300 },
    );
  });
});
