import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePolicyText } from "./load.ts";
import { mcpPolicyText, problemsOf } from "./testing.ts";

test("an McpPolicy resource loads with defaults applied", () => {
  const loaded = parsePolicyText(mcpPolicyText("tools:\n  - name: list_flows"), "ignored");
  assert.equal(loaded.format, "McpPolicy");
  assert.equal(loaded.name, "agents/kestra");
  assert.equal(loaded.generation, 3);
  assert.equal(loaded.spec.default, "deny", "default is deny when unset");
  assert.equal(loaded.spec.mode, "Enforce");
  assert.deepEqual(loaded.spec.tools?.[0], { name: "list_flows", action: "allow" });
});

test("a PolicyLayer document loads as it is", () => {
  const loaded = parsePolicyText(
    JSON.stringify({
      version: "1",
      default: "deny",
      hide: ["delete_account"],
      all_tools: { limits: [{ counter: "calls-per-minute", window: "minute", max: 60, scope: "grant" }] },
      tools: {
        create_charge: {
          require: [],
          deny_if: [{ path: "args.amount", op: "gt", value: 10000 }],
          limits: [],
          on_deny: "too big",
        },
      },
    }),
    "stripe",
  );
  assert.equal(loaded.format, "PolicyLayer");
  assert.equal(loaded.name, "stripe");
  assert.deepEqual(loaded.spec.hide, ["delete_account"]);
  assert.equal(loaded.spec.allTools?.limits?.[0]?.counter, "calls-per-minute");
  const rule = loaded.spec.tools?.[0];
  assert.equal(rule?.reason, "too big");
  assert.equal(rule?.denyIf?.length, 1);
  assert.deepEqual(loaded.docPath(["tools", 0, "denyIf", 0]), ["tools", "create_charge", "deny_if", 0]);
  assert.deepEqual(loaded.docPath(["tools", 0, "reason"]), ["tools", "create_charge", "on_deny"]);
  assert.deepEqual(loaded.docPath(["allTools", "limits", 0]), ["all_tools", "limits", 0]);
});

test("a PolicyLayer document without default denies unlisted tools and warns", () => {
  const loaded = parsePolicyText('{"version":"1","tools":{"a":{}}}', "p");
  assert.equal(loaded.spec.default, "deny");
  assert.match(loaded.warnings[0]?.message ?? "", /denied/);
});

test("syntax and schema problems name the field", () => {
  assert.match(problemsOf("a: [")[0] ?? "", /^\(document\): invalid YAML\/JSON/);
  assert.match(problemsOf("a: 1\na: 2\n")[0] ?? "", /invalid YAML\/JSON: .*unique/i);
  assert.deepEqual(problemsOf(mcpPolicyText("mode: enforce")), [
    'spec.mode: Invalid option: expected one of "Enforce"|"Audit"',
  ]);
  assert.deepEqual(problemsOf(mcpPolicyText("tools:\n  - name: x\n    denyif: ['true']")), [
    'spec.tools[0]: unknown field "denyif"',
  ]);
  assert.deepEqual(problemsOf(mcpPolicyText("tools:\n  - name: x\n    limits: [{window: fortnight, max: 0}]")), [
    "spec.tools[0].limits[0].window: must be second, minute, hour, day or a duration such as 90s, 15m, 2h",
    "spec.tools[0].limits[0].max: Too small: expected number to be >=1",
  ]);
  assert.deepEqual(problemsOf('{"version":"2","tools":{}}'), ['version: version must be "1"']);
  assert.deepEqual(
    problemsOf('{"version":"1","tools":{"a":{"deny_if":[{"path":"args.a","op":"bigger","value":1}]}}}'),
    ["tools.a.deny_if[0]: must be a CEL string or a {path, op, value} condition"],
  );
  assert.deepEqual(problemsOf('{"version":"1","tools":{"a":{"rules":[]}}}'), ['tools.a: unknown field "rules"']);
  assert.match(problemsOf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")[0] ?? "", /^apiVersion: /);
});

test("oversized documents are refused before parsing", () => {
  const huge = `# ${"x".repeat(4 * 1024 * 1024)}\n`;
  assert.match(problemsOf(huge)[0] ?? "", /larger than/);
});
