// `policy explain --resource/--prompt` and `policy test --cases` with resource and prompt steps.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli, tempFile } from "./testing.ts";

const POLICY = `apiVersion: mcpwarden.io/v1alpha1
kind: McpPolicy
metadata: {name: kb, namespace: agents}
spec:
  default: allow
  resources:
    rules:
      - uri: "kb://public/*"
        limits: [{window: minute, max: 2}]
      - uri: "kb://secret/*"
        action: deny
        reason: "Secrets are not for agents."
  prompts:
    default: allow
    rules:
      - name: "internal-*"
        action: hide
`;

test("policy explain decides resources and prompts, and says when a kind is not policed", async () => {
  const policy = await tempFile("kb.yaml", POLICY);
  const denied = await runCli("policy", "explain", policy, "--resource", "kb://secret/keys");
  assert.equal(denied.code, 0, denied.stderr);
  assert.match(
    denied.stdout,
    /resource: kb:\/\/secret\/keys\ncaller: +anonymous\ndecision: denied\nreason: +rule_denied\nrule: +\/spec\/resources\/rules\/1\nmessage: +Secrets are not for agents\./,
  );
  const allowed = await runCli("policy", "explain", policy, "--resource", "kb://public/readme", "--json");
  const json = JSON.parse(allowed.stdout) as Record<string, unknown>;
  assert.deepEqual([json.decision, json.reason, (json.limits as unknown[]).length], ["allowed", "rule_allowed", 1]);
  const hidden = await runCli("policy", "explain", policy, "--prompt", "internal-debug");
  assert.match(hidden.stdout, /decision: denied\nreason: +hidden/);
  const silent = await tempFile("silent.yaml", POLICY.replace(/ {2}resources:[\s\S]*/, ""));
  const pass = await runCli("policy", "explain", silent, "--resource", "file:///etc/passwd");
  assert.match(pass.stdout, /decision: allowed[\s\S]*note: +the policy has no resources: block/);
  const both = await runCli("policy", "explain", policy, "--tool", "x", "--prompt", "y");
  assert.equal(both.code, 2);
});

test("policy test --cases runs resource and prompt steps, limits included", async () => {
  const policy = await tempFile("kb.yaml", POLICY);
  const cases = `cases:
  - name: secrets are denied
    resource: kb://secret/keys
    expect: {decision: denied, reason: rule_denied}
  - name: public reads are limited
    sequence:
      - {resource: kb://public/readme, repeat: 2, expect: allowed}
      - {resource: kb://public/readme, expect: rate_limited}
  - name: internal prompts are hidden
    prompt: internal-debug
    expect: {decision: denied, reason: hidden}
`;
  const passing = await runCli("policy", "test", policy, "--cases", await tempFile("cases.yaml", cases));
  assert.equal(passing.code, 0, passing.stdout + passing.stderr);
  const failing = await runCli(
    "policy",
    "test",
    policy,
    "--cases",
    await tempFile("bad.yaml", cases.replace("reason: hidden", "reason: rule_denied")),
  );
  assert.equal(failing.code, 1);
  assert.match(failing.stdout + failing.stderr, /internal prompts are hidden/);
  const neither = await runCli(
    "policy",
    "test",
    policy,
    "--cases",
    await tempFile("neither.yaml", "cases:\n  - name: x\n    expect: allowed\n"),
  );
  assert.notEqual(neither.code, 0);
  assert.match(neither.stdout + neither.stderr, /exactly one of tool, resource or prompt/);
});
