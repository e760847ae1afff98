import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { admitToolCall } from "./decide.ts";
import { evaluateTarget, targetHidden } from "./decide-target.ts";
import { SlidingWindowMemoryStore } from "./ratelimit/memory-store.ts";
import { caller, mcpPolicy, mcpPolicyText, problemsOf } from "./testing.ts";

const POLICY = mcpPolicy(`
default: allow
resources:
  default: deny
  rules:
    - uri: "demo://resource/static/*"
    - uri: "demo://resource/static/document/secret.md"
      action: hide
    - uri: "file:///etc/*"
      action: deny
      reason: "System files are off limits."
    - uri: "kv://*"
      require: ["uri.startsWith('kv://' + caller.grant + '/')"]
      limits: [{window: minute, max: 2}]
prompts:
  rules:
    - name: simple-prompt
    - name: args-prompt
      denyIf: ["args.city == 'Atlantis'"]
      arguments: {type: object, properties: {city: {type: string, maxLength: 20}}}
    - name: "internal-*"
      action: hide
`);

const read = (uri: string, grant = "alice") =>
  evaluateTarget(POLICY, { kind: "resource", target: uri, args: {}, caller: caller(grant) });
const prompt = (name: string, args: Record<string, unknown> = {}) =>
  evaluateTarget(POLICY, { kind: "prompt", target: name, args, caller: caller("alice") });

describe("resources rules", () => {
  test("allow by glob, deny with the rule's reason, hide, default deny", () => {
    assert.deepEqual(
      [read("demo://resource/static/document/a.md")?.decision, read("demo://resource/static/document/a.md")?.reason],
      ["allowed", "rule_allowed"],
    );
    assert.deepEqual(
      [read("file:///etc/passwd")?.reason, read("file:///etc/passwd")?.message],
      ["rule_denied", "System files are off limits."],
    );
    assert.equal(read("file:///etc/passwd")?.rule, "/spec/resources/rules/2");
    assert.equal(read("demo://resource/static/document/secret.md")?.reason, "hidden");
    assert.equal(targetHidden(POLICY, "resource", "demo://resource/static/document/secret.md"), true);
    assert.equal(targetHidden(POLICY, "resource", "demo://resource/static/document/a.md"), false);
    assert.deepEqual([read("demo://other")?.decision, read("demo://other")?.reason], ["denied", "default_deny"]);
  });

  test("CEL over uri and caller, then limits consumed by the shared admission", async () => {
    assert.equal(read("kv://alice/k1")?.decision, "allowed");
    assert.equal(read("kv://bob/k1", "alice")?.reason, "require_failed");
    const store = new SlidingWindowMemoryStore();
    const evaluation = read("kv://alice/k1");
    assert.ok(evaluation);
    const request = { tool: "kv://alice/k1", args: {}, caller: caller("alice") };
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push((await admitToolCall(POLICY, request, evaluation, store)).decision);
    assert.deepEqual(outcomes, ["allowed", "allowed", "rate_limited"]);
  });
});

describe("prompts rules", () => {
  test("allow, argument rules, hide by glob, default deny", () => {
    assert.equal(prompt("simple-prompt")?.decision, "allowed");
    assert.equal(prompt("args-prompt", { city: "Paris" })?.decision, "allowed");
    assert.equal(prompt("args-prompt", { city: "Atlantis" })?.reason, "deny_if_matched");
    assert.equal(prompt("args-prompt", { city: "x".repeat(30) })?.reason, "invalid_arguments");
    assert.equal(prompt("internal-notes")?.reason, "hidden");
    assert.equal(prompt("resource-prompt")?.reason, "default_deny");
  });
});

describe("a policy silent about resources and prompts", () => {
  test("leaves them unpoliced (they pass as they did)", () => {
    const silent = mcpPolicy("default: deny");
    assert.equal(
      evaluateTarget(silent, { kind: "resource", target: "file:///etc/passwd", args: {}, caller: caller("a") }),
      undefined,
    );
    assert.equal(
      evaluateTarget(silent, { kind: "prompt", target: "anything", args: {}, caller: caller("a") }),
      undefined,
    );
    assert.equal(targetHidden(silent, "prompt", "anything"), false);
  });
});

describe("load-time problems", () => {
  test("CEL naming variables the kind does not have, bad syntax, duplicates, dead fields", () => {
    const problems = problemsOf(
      mcpPolicyText(`
resources:
  rules:
    - uri: "a://*"
      require: ["args.x == 1"]
    - uri: "a://*"
    - uri: "b://x"
      action: deny
      denyIf: ["uri == 'b'"]
prompts:
  rules:
    - name: p
      require: ["uri == 'x'"]
    - name: q
      denyIf: ["name =="]
`),
    );
    assert.equal(problems.length, 5, problems.join("\n"));
    assert.match(problems.join("\n"), /undeclared reference 'args'/);
    assert.match(problems.join("\n"), /undeclared reference 'uri'/);
    assert.match(problems.join("\n"), /duplicate rule for "a:\/\/\*"/);
    assert.match(problems.join("\n"), /has no effect: the rule's action is deny/);
    assert.match(problems.join("\n"), /syntax error/);
  });
});
