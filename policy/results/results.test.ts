// Result rules as the engine applies them: which rules apply to a tool, what redaction, denyIf,
// maxBytes and the CEL conditions do to a result, what fails closed, and that scanning stays linear
// on long adversarial inputs (RE2).
import assert from "node:assert/strict";
import { test } from "node:test";
import { caller, mcpPolicy, mcpPolicyText, problemsOf } from "../testing.ts";
import { BUILTIN_DETECTORS } from "./detectors.ts";
import { inspectResult, type ResultContext } from "./inspect.ts";
import { compileDetector, Scanner } from "./scanner.ts";

const AWS_KEY = "AKIAZ7Q3M5R2TY8WXK4P";
const PEM =
  "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+Mw4vBxxmS8Xo8m1xJ1b1Yq2cT4oI0aC9EwBfO5Cw7\n-----END PRIVATE KEY-----";

const POLICY = mcpPolicy(`
default: allow
detectors:
  - name: employee-id
    pattern: "\\\\bEMP-(?P<secret>[0-9]{6})\\\\b"
allTools:
  results: {redact: [email]}
tools:
  - name: manage_kv_store
    results:
      redact: [secrets, employee-id]
      withholdIf: ["args.key.startsWith('secret/') && !('ops' in caller.groups)"]
  - name: namespace_file_*
    results: {denyIf: [private-key], maxBytes: 2000, reason: "Ask the platform team for key material."}
  - name: list_flows
`);

const context = (tool: string, args: Record<string, unknown> = {}, groups: string[] = []): ResultContext => ({
  policy: "kestra",
  tool,
  args,
  caller: caller("alice", { groups }),
});
const inspect = (tool: string, result: unknown, args: Record<string, unknown> = {}, groups: string[] = []) => {
  const plan = POLICY.planFor(tool).results;
  assert.ok(plan, `${tool} has result rules`);
  return inspectResult(plan, result, context(tool, args, groups));
};
const textResult = (text: string, structuredContent?: unknown) => ({
  content: [{ type: "text", text }],
  ...(structuredContent ? { structuredContent } : {}),
});

test("rules apply per tool, per glob and for all tools, merged into one plan", () => {
  assert.deepEqual([...(POLICY.planFor("list_flows").results?.redact ?? [])], ["email"]);
  assert.deepEqual(
    [...(POLICY.planFor("unlisted_tool").results?.redact ?? [])],
    ["email"],
    "the default's tools get allTools' rules",
  );
  const kv = POLICY.planFor("manage_kv_store").results;
  assert.ok(kv?.redact.has("aws-access-key-id") && kv.redact.has("employee-id") && kv.redact.has("email"));
  const files = POLICY.planFor("namespace_file_action").results;
  assert.deepEqual([...(files?.denyIf ?? [])], ["private-key"]);
  assert.equal(files?.maxBytes?.limit, 2000);
  assert.deepEqual(
    kv?.maxBytes,
    { limit: 4 * 1024 * 1024, pointer: "(default maxBytes of scanned results)" },
    "scanned results are bounded by default",
  );
  assert.deepEqual(files?.pointers, ["/spec/allTools/results", "/spec/tools/1/results"]);
  assert.equal(mcpPolicy("default: allow").planFor("x").results, undefined);
  assert.equal(mcpPolicy("default: allow").hasResultRules, false);
  assert.equal(POLICY.hasResultRules, true);
});

test("redaction replaces matches in text content and structuredContent strings, the JSON intact", () => {
  const value = `id=${AWS_KEY}; owner ops@example.com; badge EMP-123456`;
  const result = {
    ...textResult(JSON.stringify({ key: "k", value })),
    structuredContent: { key: "k", value, nested: [{ v: value }], n: 5 },
    isError: false,
  };
  const verdict = inspect("manage_kv_store", result, { key: "k" });
  assert.equal(verdict.action, "redacted");
  const expected = "id=[REDACTED:aws-access-key-id]; owner [REDACTED:email]; badge EMP-[REDACTED:employee-id]";
  const out = verdict.result as typeof result;
  assert.deepEqual(
    JSON.parse(out.content[0]?.text ?? ""),
    { key: "k", value: expected },
    "the text's own JSON stays valid",
  );
  assert.deepEqual(out.structuredContent, { key: "k", value: expected, nested: [{ v: expected }], n: 5 });
  assert.equal(out.isError, false);
  assert.deepEqual(verdict.detectors, { "aws-access-key-id": 3, email: 3, "employee-id": 3 });
  assert.ok(!JSON.stringify(out).includes(AWS_KEY));
  assert.equal((result.structuredContent as { value: string }).value, value, "the input is not changed");
});

test("a result without matches passes as it is", () => {
  const result = textResult("nothing to see", { a: "b" });
  const verdict = inspect("manage_kv_store", result, { key: "k" });
  assert.equal(verdict.action, "passed");
  assert.equal(verdict.result, result);
});

test("denyIf withholds the whole result and says which detectors fired, never what they matched", () => {
  const verdict = inspect("namespace_file_action", textResult(PEM, { content: PEM }));
  assert.equal(verdict.action, "withheld");
  assert.equal(verdict.reason, "detector");
  assert.deepEqual(verdict.detectors, { "private-key": 2 });
  const out = verdict.result as { content: { text: string }[]; isError: boolean };
  assert.equal(out.isError, true);
  assert.equal(
    out.content[0]?.text,
    "[RESULT WITHHELD] The result of 'namespace_file_action' was withheld by policy kestra: it contains private-key (2 matches). " +
      "The tool did run; do not call it again to read this result. Ask the platform team for key material.",
  );
  assert.ok(!JSON.stringify(verdict).includes("MC4CAQAw"));
});

test("maxBytes refuses a larger result before scanning it, and says the limit", () => {
  const verdict = inspect("namespace_file_action", textResult("x".repeat(3000)));
  assert.equal(verdict.action, "withheld");
  assert.equal(verdict.reason, "too_large");
  assert.match(verdict.message ?? "", /it is 30\d\d bytes, more than the 2000 bytes the policy allows/);
  assert.equal(verdict.rule, "/spec/tools/1/results/maxBytes");
  const measured = inspectResult(POLICY.planFor("namespace_file_action").results!, textResult("small"), {
    ...context("namespace_file_action"),
    bytes: 2001,
  });
  assert.equal(measured.reason, "too_large", "the size of the answer as sent counts when known");
});

test("CEL over the result, the arguments and the caller withholds", () => {
  const result = textResult("v", { key: "secret/db", value: "v" });
  const denied = inspect("manage_kv_store", result, { key: "secret/db" });
  assert.equal(denied.action, "withheld");
  assert.equal(denied.reason, "condition");
  assert.equal(denied.rule, "/spec/tools/0/results/withholdIf/0");
  assert.equal(
    inspect("manage_kv_store", result, { key: "secret/db" }, ["ops"]).action,
    "passed",
    "the ops group may read it",
  );
  assert.equal(inspect("manage_kv_store", result, { key: "public/db" }).action, "passed");
  const missing = inspect("manage_kv_store", result, {});
  assert.equal(missing.action, "withheld", "an argument the condition needs is missing: fail closed");
  assert.equal(missing.reason, "evaluation_error");
  const onResult = mcpPolicy(`
default: allow
tools:
  - name: get_flow
    results: {withholdIf: ["has(result.structuredContent) && result.structuredContent.namespace.startsWith('company.finance')", "result.isError == true"]}
`);
  const plan = onResult.planFor("get_flow").results!;
  assert.equal(
    inspectResult(
      plan,
      { content: [], structuredContent: { namespace: "company.finance.payroll" }, isError: false },
      context("get_flow"),
    ).action,
    "withheld",
  );
  assert.equal(
    inspectResult(
      plan,
      { content: [], structuredContent: { namespace: "company.team" }, isError: false },
      context("get_flow"),
    ).action,
    "passed",
  );
  assert.equal(inspectResult(plan, { content: [], isError: true }, context("get_flow")).action, "withheld");
});

test("a result too deeply nested to scan is withheld (fail closed)", () => {
  let deep: unknown = "x";
  for (let i = 0; i < 200_000; i++) deep = [deep];
  const verdict = inspect("manage_kv_store", { content: [], structuredContent: { deep } }, { key: "k" });
  assert.equal(verdict.action, "withheld");
  assert.equal(verdict.reason, "scan_failed");
});

test("policy problems of result rules name their fields", () => {
  const problems = problemsOf(
    mcpPolicyText(`
detectors:
  - {name: email, pattern: "x"}
  - {name: backref, pattern: "(a)\\\\1"}
  - {name: everything, pattern: "a*"}
  - {name: short, pattern: "x", minEntropy: 3}
allTools:
  results: {redact: [emails]}
tools:
  - name: a
    results: {denyIf: [nope], withholdIf: ["result.isError && args"]}
  - name: b
    results: {}
  - name: c
    action: deny
    results: {maxBytes: 10}
`),
  );
  assert.deepEqual(
    problems.map((p) => p.replace(/ \(built-in:.*\)$/, "").replace(/RE2 pattern: .*/, "RE2 pattern")),
    [
      'spec.detectors[0].name: "email" is the name of a built-in detector or group; choose another name',
      "spec.detectors[1].pattern: not a valid RE2 pattern",
      "spec.detectors[2].pattern: matches the empty string, so it would match everywhere",
      "spec.detectors[3].minEntropy: only applies with validator entropy",
      'spec.allTools.results.redact[0]: unknown detector "emails"',
      'spec.tools[0].results.denyIf[0]: unknown detector "nope"',
      "spec.tools[0].results.withholdIf[0]: '_&&_' needs bool operands, got map(string, dyn)",
      "spec.tools[1].results: has no effect: set redact, denyIf, maxBytes or withholdIf",
      "spec.tools[2].results: has no effect: the rule's action is deny",
    ],
  );
});

test("scanning stays linear on long adversarial inputs (RE2: no backtracking)", () => {
  const scanner = new Scanner(BUILTIN_DETECTORS.map(compileDetector));
  const MB = 1 << 20;
  // Each input built at both sizes, so the small one has the same shape (a pre-check that the large
  // one passes must not skip the small one's scan).
  const inputs: Record<string, (n: number) => string> = {
    letters: (n) => "a".repeat(n),
    base64: (n) => "Ab1+".repeat(n / 4),
    digits: (n) => "4111 ".repeat(n / 5),
    unterminatedKey: (n) => `-----BEGIN RSA PRIVATE KEY-----\n${"QUJD\n".repeat(n / 5)}`,
    atSigns: (n) => `${"a.".repeat(n / 2)}@`,
    assignments: (n) => "password=".repeat(n / 9),
    jwtLike: (n) => "eyJ".repeat(n / 3),
    ibanLike: (n) => "DE89 ".repeat(n / 5),
  };
  for (const [name, make] of Object.entries(inputs)) {
    // CPU time of this process, the least of three runs: other processes on the shared machine take
    // wall time, not this process's CPU time, and a collector pause is not the scan's.
    const time = (s: string) => {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const start = process.cpuUsage();
        scanner.scan(s);
        const used = process.cpuUsage(start);
        best = Math.min(best, (used.user + used.system) / 1000);
      }
      return best;
    };
    time(make(MB / 16)); // warm the automata
    const small = Math.max(time(make(MB / 16)), 1);
    const large = time(make(MB));
    // Linear is 16×; a quadratic scan would be 256×. Generous for a shared machine.
    assert.ok(large / small < 80, `${name}: 1 MiB took ${large.toFixed(0)} ms of CPU, 64 KiB ${small.toFixed(0)} ms`);
    assert.ok(large < 20_000, `${name}: 1 MiB took ${large.toFixed(0)} ms of CPU`);
  }
});

test("secrets in keys, in JSON texts padded with whitespace or spelled with \\u escapes are found; JSON texts too deep to read withhold", () => {
  const KV = { key: "aws" };
  const keyed = inspect(
    "manage_kv_store",
    { content: [], structuredContent: { [AWS_KEY]: 1, nested: { [`id ${AWS_KEY}`]: true } } },
    KV,
  );
  assert.equal(keyed.action, "redacted");
  assert.deepEqual(keyed.result, {
    content: [],
    structuredContent: { "[REDACTED:aws-access-key-id]": 1, nested: { "id [REDACTED:aws-access-key-id]": true } },
  });
  assert.deepEqual(keyed.detectors, { "aws-access-key-id": 2 });
  const escaped = AWS_KEY.replace("A", "\\u0041");
  for (const text of [`\n  {"key": "${escaped}"}\n`, JSON.stringify(`{"key": "${escaped}"}`)]) {
    const verdict = inspect("manage_kv_store", { content: [{ type: "text", text }] }, KV);
    assert.equal(verdict.action, "redacted", text);
    assert.ok(!JSON.stringify(verdict.result).includes(AWS_KEY.slice(4)), text);
  }
  const deep = JSON.stringify([JSON.stringify([JSON.stringify([JSON.stringify({ key: escaped })])])]);
  assert.equal(inspect("manage_kv_store", { content: [{ type: "text", text: deep }] }, KV).reason, "scan_failed");
  const deepPlain = JSON.stringify([JSON.stringify([JSON.stringify([JSON.stringify({ key: "plain" })])])]);
  assert.equal(
    inspect("manage_kv_store", { content: [{ type: "text", text: deepPlain }] }, KV).action,
    "passed",
    "without escapes, the deepest text is scanned as it is",
  );
});
