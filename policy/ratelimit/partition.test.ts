// The engine tells a store which budgets of a call must be stored together: by caller, unless the
// policy has a global limit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decideToolCall } from "../decide.ts";
import { call, caller, mcpPolicy } from "../testing.ts";
import { SlidingWindowMemoryStore } from "./memory-store.ts";
import type { LimitCheck } from "./store.ts";

/** The memory store, keeping a copy of the checks it is asked about. */
class RecordingStore extends SlidingWindowMemoryStore {
  readonly calls: (readonly LimitCheck[])[] = [];
  override consume(checks: readonly LimitCheck[]) {
    this.calls.push(checks);
    return super.consume(checks);
  }
}

test("budgets are partitioned by the caller's grant when no limit is global", async () => {
  const policy = mcpPolicy(`
allTools: {limits: [{counter: all, window: hour, max: 100}]}
tools:
  - name: resume_execution
    limits: [{window: minute, max: 10, scope: session}]`);
  assert.equal(policy.limitPartitioning, "grant");
  const store = new RecordingStore();
  await decideToolCall(policy, call("resume_execution", {}, caller("alice"), "session-1"), store);
  assert.deepEqual(
    store.calls[0]?.map((c) => [c.key, c.partition]),
    [
      ["all|grant|alice", "alice"],
      ["resume_execution/limits/0|session|session-1", "alice"],
    ],
  );
});

test("one global limit anywhere puts every budget of the policy in one partition", async () => {
  const policy = mcpPolicy(`
tools:
  - name: resume_execution
    limits: [{window: minute, max: 10}]
  - name: restart_execution
    limits: [{counter: restarts, window: minute, max: 3, scope: global}]`);
  assert.equal(policy.limitPartitioning, "policy");
  const store = new RecordingStore();
  await decideToolCall(policy, call("resume_execution", {}, caller("alice")), store);
  await decideToolCall(policy, call("restart_execution", {}, caller("bob")), store);
  assert.deepEqual(
    store.calls.flat().map((c) => c.partition),
    ["", ""],
  );
});
