// The README's example policy is valid and decides as the README says.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { compilePolicy } from "../policy/compile.ts";
import { decideToolCall } from "../policy/decide.ts";
import { parsePolicyText } from "../policy/load.ts";
import { SlidingWindowMemoryStore } from "../policy/ratelimit/memory-store.ts";
import { call, caller } from "../policy/testing.ts";

const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";

describe("the README's policy", () => {
  const policy = compilePolicy(parsePolicyText(example, "README.md"));
  const decide = (tool: string, args: Record<string, unknown> = {}, store = new SlidingWindowMemoryStore()) =>
    decideToolCall(policy, call(tool, args, caller("agent-1")), store);

  it("compiles", () => {
    assert.equal(policy.name, "agents/kestra");
    assert.equal(policy.spec.default, "deny");
  });

  it("allows list_* by glob, denies unlisted tools, hides delete_executions", async () => {
    assert.equal((await decide("list_flows")).decision, "allowed");
    assert.equal((await decide("delete_flow")).reason, "default_deny");
    assert.equal(policy.isHidden("delete_executions"), true);
  });

  it("caps resume_execution at 10 per minute per caller", async () => {
    const store = new SlidingWindowMemoryStore();
    const decisions = [];
    for (let i = 0; i < 11; i++) decisions.push((await decide("resume_execution", {}, store)).decision);
    assert.deepEqual(decisions, [...Array<string>(10).fill("allowed"), "rate_limited"]);
  });

  it("asks a person before restart_execution, and lets manage_kv_store read only", async () => {
    assert.equal((await decide("restart_execution")).decision, "approval_required");
    assert.equal((await decide("manage_kv_store", { action: "get" })).decision, "allowed");
    assert.equal((await decide("manage_kv_store", { action: "delete" })).reason, "require_failed");
  });
});
