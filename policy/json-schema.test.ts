import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { evaluateToolCall } from "./decide.ts";
import { compilePolicy } from "./compile.ts";
import { parsePolicyText } from "./load.ts";
import { formatProblem } from "./paths.ts";
import {
  createSafeAjv,
  describeFirstError,
  MAX_EXPANDED_SUBSCHEMAS,
  MAX_FORMAT_STRING_LENGTH,
  MAX_PATTERN_STRING_LENGTH,
  schemaProblems,
} from "./json-schema.ts";
import { call, mcpPolicyText, problemsOf } from "./testing.ts";

const problemsAt = (schema: unknown) => schemaProblems(schema, ["arguments"]).map(formatProblem);

describe("schemaProblems refuses at load what could stall validation, naming the field", () => {
  test("patterns RE2 cannot compile: lookaround and backreferences", () => {
    const problems = problemsAt({
      type: "object",
      properties: { url: { type: "string", pattern: "^(?=https)" }, tag: { type: "string", pattern: "(a)\\1" } },
      patternProperties: { "^x(?!y)": { type: "string" } },
      propertyNames: { pattern: "(?<=a)b" },
    });
    assert.equal(problems.length, 4);
    assert.match(problems[0] ?? "", /^arguments\.patternProperties\["\^x\(\?!y\)"\]: pattern/);
    assert.match(
      problems[1] ?? "",
      /^arguments\.properties\.url\.pattern: pattern "\^\(\?=https\)" is not an RE2 regular expression .*lookaround/,
    );
    assert.match(
      problems[2] ?? "",
      /^arguments\.properties\.tag\.pattern: pattern .* is not an RE2 regular expression/,
    );
    assert.match(problems[3] ?? "", /^arguments\.propertyNames\.pattern: pattern/);
    assert.deepEqual(problemsAt({ type: "string", pattern: "^[a-z]+(\\.[a-z]+)*$" }), []);
  });

  test("uniqueItems over items that are not declared scalar", () => {
    for (const schema of [
      { type: "array", uniqueItems: true },
      { type: "array", uniqueItems: true, items: { type: "object" } },
      { type: "array", uniqueItems: true, items: { type: ["string", "array"] } },
      { type: "array", uniqueItems: true, items: { $ref: "#/$defs/name" }, $defs: { name: { type: "string" } } },
      { type: "array", uniqueItems: true, items: { enum: ["a", { b: 1 }] } },
      { type: "array", uniqueItems: true, prefixItems: [{ type: "object" }], items: { type: "string" } },
    ]) {
      const problems = problemsAt(schema);
      assert.equal(problems.length, 1, JSON.stringify(schema));
      assert.match(
        problems[0] ?? "",
        /^arguments\.uniqueItems: uniqueItems needs items declared scalar .* square of the arguments/,
      );
    }
    const nested = problemsAt({
      type: "object",
      properties: { tags: { type: "array", uniqueItems: true, items: {} } },
    });
    assert.match(nested[0] ?? "", /^arguments\.properties\.tags\.uniqueItems: /);
  });

  test("uniqueItems over scalars is accepted", () => {
    for (const items of [
      { type: "string" },
      { type: ["integer", "null"] },
      { enum: ["a", "b", 1, null] },
      { const: "x" },
    ]) {
      assert.deepEqual(problemsAt({ type: "array", uniqueItems: true, items }), [], JSON.stringify(items));
    }
    assert.deepEqual(
      problemsAt({ type: "array", uniqueItems: true, prefixItems: [{ type: "object" }, {}], items: false }),
      [],
    );
  });

  test("recursive, exponentially expanding and non-local references", () => {
    const recursive = problemsAt({
      $defs: { node: { type: "object", properties: { next: { $ref: "#/$defs/node" } } } },
      $ref: "#/$defs/node",
    });
    assert.match(
      recursive[0] ?? "",
      /^arguments\["\$defs"\]\.node\.properties\.next\["\$ref"\]: recursive schema: "#\/\$defs\/node" refers back to itself/,
    );
    // d0 uses d1 twice, d1 uses d2 twice…: 2^20 subschemas from a schema of 20 definitions.
    const $defs: Record<string, unknown> = { d20: { type: "string" } };
    for (let i = 0; i < 20; i++)
      $defs[`d${i}`] = { allOf: [{ $ref: `#/$defs/d${i + 1}` }, { $ref: `#/$defs/d${i + 1}` }] };
    const laughs = problemsAt({ $defs, $ref: "#/$defs/d0" });
    assert.equal(laughs.length, 1);
    assert.match(
      laughs[0] ?? "",
      new RegExp(`the schema expands to more than ${MAX_EXPANDED_SUBSCHEMAS} subschemas through \\$ref`),
    );
    assert.match(
      problemsAt({ $ref: "https://example.com/s.json" })[0] ?? "",
      /^arguments\["\$ref"\]: only local references/,
    );
    assert.match(
      problemsAt({ $dynamicRef: "#meta" })[0] ?? "",
      /^arguments\["\$dynamicRef"\]: \$dynamicRef is not supported/,
    );
    // Inside a resource of its own, "#/$defs/x" is that resource's x, which refers to itself.
    const hidden = {
      $defs: { x: { type: "string" } },
      properties: {
        a: {
          $id: "https://example.com/a",
          $defs: { x: { properties: { n: { $ref: "#/$defs/x" } } } },
          $ref: "#/$defs/x",
        },
      },
    };
    assert.match(
      problemsAt(hidden)[0] ?? "",
      /^arguments\.properties\.a\["\$id"\]: \$id is only supported on the root schema/,
    );
    assert.deepEqual(problemsAt({ $id: "https://example.com/root", type: "object" }), []);
    const shared = {
      $defs: { name: { type: "string", minLength: 1 } },
      properties: { a: { $ref: "#/$defs/name" }, b: { $ref: "#/$defs/name" } },
    };
    assert.deepEqual(problemsAt(shared), [], "a definition used several times is fine");
  });
});

describe("policy load reports them with the policy's field path", () => {
  test("sidecar file load, policy lint and the operator share compilePolicy", () => {
    const problems = problemsOf(
      mcpPolicyText(`
tools:
  - name: a
  - name: b
  - name: fetch_url
    arguments:
      type: object
      properties:
        url: {type: string, pattern: '^(?!file:)'}
        tags: {type: array, uniqueItems: true, items: {type: object}}
`),
    );
    assert.deepEqual(
      problems.map((p) => p.split(":")[0]),
      ["spec.tools[2].arguments.properties.url.pattern", "spec.tools[2].arguments.properties.tags.uniqueItems"],
    );
  });
});

describe("validation on the safe Ajv", () => {
  const ajv = createSafeAjv();

  test("a string past the format bound fails its format with a message that says why", () => {
    const validate = ajv.compile({ type: "object", properties: { url: { type: "string", format: "url" } } });
    const url = "http://example.com/" + "a".repeat(MAX_FORMAT_STRING_LENGTH);
    assert.equal(validate({ url }), false);
    assert.equal(
      describeFirstError(validate, { url }),
      `/url is ${url.length} characters long: at most ${MAX_FORMAT_STRING_LENGTH} are checked against format "url"`,
    );
    assert.equal(validate({ url: url.slice(0, MAX_FORMAT_STRING_LENGTH) }), true);
    assert.equal(validate({ url: "http://10.0.0.1/" }), false, "the full url grammar still applies");
    assert.equal(describeFirstError(validate, { url: "nope" }), '/url must match format "url"');
  });

  test("patterns run on RE2 up to their bound", () => {
    const validate = ajv.compile({ type: "string", pattern: "^(a+)+$" });
    const atBound = "a".repeat(MAX_PATTERN_STRING_LENGTH);
    assert.equal(validate(atBound), true);
    const started = performance.now();
    assert.equal(validate(atBound.slice(1) + "!"), false, "the classic catastrophic input, linear on RE2");
    assert.ok(performance.now() - started < 1000);
    assert.equal(validate(atBound + "a"), false);
    assert.equal(
      describeFirstError(validate, atBound + "a"),
      `arguments is ${MAX_PATTERN_STRING_LENGTH + 1} characters long: at most ${MAX_PATTERN_STRING_LENGTH} are checked against a pattern`,
    );
    const two = ajv.compile({
      type: "object",
      properties: { a: { type: "string", pattern: "^a$" }, b: { type: "string", pattern: "^b$" } },
    });
    assert.equal(two({ a: "a", b: "b" }), true, "each pattern is its own (Ajv keys compiled patterns by their text)");
    assert.equal(two({ a: "b", b: "b" }), false);
  });

  test("uniqueItems over an enum of scalars stays linear: items are checked first", () => {
    const validate = ajv.compile({ type: "array", uniqueItems: true, items: { enum: ["a", "b"] } });
    const distinctObjects = Array.from({ length: 20_000 }, (_, i) => ({ i }));
    const started = performance.now();
    assert.equal(validate(distinctObjects), false);
    // Pairwise comparison of 20 000 objects takes seconds.
    assert.ok(performance.now() - started < 200, `${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(validate(["a", "b", "a"]), false);
    assert.equal(validate(["a", "b"]), true);
  });
});

test("a non-strict safe Ajv (for schemas the sidecar does not write) ignores unknown keywords, keeps RE2 formats", () => {
  const lenient = createSafeAjv({ strict: false }).compile({
    type: "object",
    "x-ui": "wide",
    properties: { url: { type: "string", format: "url" } },
  });
  assert.equal(lenient({ url: "https://example.com" }), true);
  assert.equal(lenient({ url: "http://" + ":".repeat(100_000) }), false);
  assert.throws(() => createSafeAjv().compile({ type: "object", "x-ui": "wide" }), /unknown keyword/);
});

describe("the CPU budget of a decision", () => {
  // Twenty 60 KB strings under a pattern: tens of milliseconds of RE2, well past a 5 ms budget (the
  // thread CPU clock advances in steps of up to a few milliseconds, so the margin must be wide).
  const names = Array.from({ length: 20 }, (_, i) => `q${i}`);
  const policyText = mcpPolicyText(`
tools:
  - name: search
    arguments: {type: object, properties: {${names.map((n) => `${n}: {type: string, pattern: '^[a-z]*$'}`).join(", ")}}}
    require: ["size(args.q0) > 0"]
`);
  const big = Object.fromEntries(names.map((n) => [n, "a".repeat(60_000)]));

  test("a decision that takes longer than the budget is denied, whatever the checks said", () => {
    const policy = compilePolicy(parsePolicyText(policyText, "p"), { cpuBudgetMs: 5 });
    const decision = evaluateToolCall(policy, call("search", big));
    assert.equal(decision.decision, "denied");
    assert.equal(decision.reason, "cpu_budget_exceeded");
    assert.equal(decision.rule, "/spec/tools/0/arguments", "stops after the check that overran");
    assert.match(
      decision.message,
      /^Call to 'search' denied: policy evaluation exceeded its CPU budget \(\d+ ms, budget 5 ms\)/,
    );
    assert.equal(
      evaluateToolCall(policy, call("search", { q0: "abc" })).decision,
      "allowed",
      "a quick decision is not affected",
    );
  });

  test("within the default budget the same call is allowed", () => {
    const policy = compilePolicy(parsePolicyText(policyText, "p"));
    assert.equal(policy.cpuBudgetMs, 50);
    // Three of them: a few milliseconds, far within 50 ms.
    assert.equal(
      evaluateToolCall(policy, call("search", { q0: big["q0"], q1: big["q1"], q2: big["q2"] })).decision,
      "allowed",
    );
  });
});
