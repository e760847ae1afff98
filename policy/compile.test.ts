import assert from "node:assert/strict";
import { test } from "node:test";
import { mcpPolicy, mcpPolicyText, problemsOf } from "./testing.ts";

test("every problem of a policy is reported at once, each with its field path", () => {
  const problems = problemsOf(
    mcpPolicyText(`
hide: [drop_table, drop_table]
tools:
  - name: list_flows
  - name: manage_flow
    denyIf: ["args.action == 'delete'", "arg.action == 'x'"]
  - name: delete_flow
    action: deny
    require: ["true"]
    limits: [{window: minute, max: 1}]
  - name: search_flows
    arguments: {type: objekt}
  - name: list_flows
  - name: drop_table
  - name: resume_execution
    approval: {timeout: 1m}
  - name: restart_execution
    limits: [{counter: execs, window: minute, max: 10}]
  - name: replay_execution
    limits: [{counter: execs, window: hour, max: 10}]
`),
  );
  assert.deepEqual(problems, [
    'spec.hide[1]: duplicate entry "drop_table"',
    "spec.tools[1].denyIf[1]: undeclared reference 'arg' (known variables: args, tool, caller)",
    "spec.tools[2].require: has no effect: the rule's action is deny",
    "spec.tools[2].limits: has no effect: the rule's action is deny",
    "spec.tools[3].arguments: invalid JSON Schema: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf",
    'spec.tools[4].name: duplicate rule for "list_flows" (first at spec.tools[0])',
    'spec.tools[5].name: "drop_table" is hidden by hide, which takes precedence: this rule never applies',
    "spec.tools[6].approval: only applies to rules whose action is approve",
    'spec.tools[8].limits[0]: counter "execs" is already defined at spec.tools[7].limits[0] as 10 per minute per grant; one counter is one budget, so every use must define it the same way',
  ]);
});

test("PolicyLayer problems use the document's own field names", () => {
  const problems = problemsOf(
    JSON.stringify({
      version: "1",
      default: "deny",
      tools: {
        create_charge: { deny_if: [{ path: "args.amount", op: "gt", value: "many" }, "args.amount >"] },
        refund: { require: ["args.reason.size() > 0", { path: "args.reason", op: "regex", value: "(" }] },
      },
    }),
  );
  assert.deepEqual(problems, [
    'tools.create_charge.deny_if[0]: operator "gt" needs a numeric value',
    'tools.refund.require[1]: invalid regular expression "(": error parsing regexp: missing closing ): `(`',
    "tools.create_charge.deny_if[1]: syntax error: at 1:13: found > but expecting end of input",
  ]);
});

test("strict JSON Schema: unknown keywords in argument schemas are mistakes", () => {
  const problems = problemsOf(
    mcpPolicyText("tools:\n  - name: x\n    arguments: {type: object, propertys: {a: {type: string}}}"),
  );
  assert.match(
    problems[0] ?? "",
    /^spec\.tools\[0\]\.arguments: invalid JSON Schema: strict mode: unknown keyword: "propertys"/,
  );
});

test("regex patterns in argument schemas must be RE2 (no catastrophic backtracking)", () => {
  const problems = problemsOf(
    mcpPolicyText(
      "tools:\n  - name: x\n    arguments: {type: object, properties: {a: {type: string, pattern: '(?=a)'}}}",
    ),
  );
  assert.match(
    problems[0] ?? "",
    /^spec\.tools\[0\]\.arguments\.properties\.a\.pattern: pattern "\(\?=a\)" is not an RE2 regular expression/,
  );
});

test("the compiled policy carries identity and version", () => {
  const policy = mcpPolicy("mode: Audit\nrateLimit: {failMode: open}\ntools: [{name: a}]");
  assert.equal(policy.name, "agents/kestra");
  assert.equal(policy.generation, 3);
  assert.equal(policy.mode, "Audit");
  assert.equal(policy.failMode, "open");
  assert.match(policy.digest, /^[0-9a-f]{12}$/);
  assert.notEqual(policy.digest, mcpPolicy("mode: Audit\nrateLimit: {failMode: open}\ntools: [{name: b}]").digest);
});

test("namesTool and isHidden answer for tools/list filtering and metric labels", () => {
  const policy = mcpPolicy("hide: [secret_*, force_run_execution]\ntools: [{name: list_flows}, {name: 'manage_*'}]");
  assert.equal(policy.namesTool("list_flows"), true);
  assert.equal(policy.namesTool("force_run_execution"), true);
  assert.equal(policy.namesTool("manage_flow"), false, "globs do not make a name known");
  assert.equal(policy.isHidden("secret_keys"), true);
  assert.equal(policy.isHidden("force_run_execution"), true);
  assert.equal(policy.isHidden("list_flows"), false);
});
