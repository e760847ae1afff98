// Properties of redaction over arbitrary results: whatever the JSON, with secrets put into random
// strings (also inside a text that holds the JSON, as FastMCP sends it), the redacted result has the
// same shape (keys, array lengths, every non-string value), no secret left, and valid JSON in the text.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { caller, mcpPolicy } from "../testing.ts";
import { inspectResult } from "./inspect.ts";

const plan = mcpPolicy(`
default: allow
tools:
  - name: t
    results: {redact: [all]}
`).planFor("t").results!;

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const chars = (alphabet: string, n: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: n, maxLength: n }).map((a) => a.join(""));
const secret = fc.oneof(
  chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16).map((s) => `AKIA${s}`),
  chars(ALNUM, 36).map((s) => `ghp_${s}`),
  chars(ALNUM, 20).map((s) => `glpat-${s}`),
);

/** Puts a secret into every n-th string of a JSON value, with spaces around it. */
function plant(value: unknown, secrets: string[], every: number, counter = { n: 0 }): unknown {
  if (typeof value === "string")
    return counter.n++ % every === 0 ? `${value} ${secrets[counter.n % secrets.length]} ${value}` : value;
  if (Array.isArray(value)) return value.map((v) => plant(v, secrets, every, counter));
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plant(v, secrets, every, counter)]));
  return value;
}

/** The value with every string replaced by "" (and -0, which JSON writes as 0, by 0), to compare shapes. */
function shape(value: unknown): unknown {
  if (typeof value === "string") return "";
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  return value;
}

test("redaction keeps the result's shape, leaves no secret, and keeps a JSON text valid", () => {
  fc.assert(
    fc.property(
      fc.jsonValue({ maxDepth: 4 }),
      fc.array(secret, { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 1, max: 3 }),
      (json, secrets, every) => {
        const planted = plant({ data: json, note: "x" }, secrets, every);
        const result = { content: [{ type: "text", text: JSON.stringify(planted) }], structuredContent: planted };
        const verdict = inspectResult(plan, result, { policy: "p", tool: "t", args: {}, caller: caller("a") });
        const out = verdict.result as typeof result;
        const shown = JSON.stringify(out);
        for (const s of secrets) assert.ok(!shown.includes(s), `left ${s}`);
        assert.deepEqual(shape(out.structuredContent), shape(planted));
        assert.deepEqual(
          shape(JSON.parse(out.content[0]?.text ?? "")),
          shape(planted),
          "the text is still the same JSON",
        );
        assert.equal(verdict.action, "redacted");
      },
    ),
    { numRuns: 200 },
  );
});
