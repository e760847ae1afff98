import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { McpApprovalResourceType } from "../../policy/approval/schema.ts";
import { expiresUnused, isPending, transitions } from "./transitions.ts";

type A = Pick<McpApprovalResourceType, "spec" | "status">;
const spec: A["spec"] = {
  policy: "kestra",
  policyGeneration: 1,
  tool: "execute_flow",
  caller: "alice",
  argsDigest: "a".repeat(64),
  args: "{}",
  waitUntil: "2026-01-01T00:05:00Z",
  expiresAt: "2026-01-01T00:20:00Z",
};
const pending: A = { spec };
const approved: A = {
  spec,
  status: { decision: "Approved", decidedBy: "ops-alice", decidedAt: "2026-01-01T00:01:00Z", reason: "ticket 7" },
};
const denied: A = { spec, status: { decision: "Denied", decidedBy: "ops-bob", decidedAt: "2026-01-01T00:01:00Z" } };
const used: A = {
  ...approved,
  spec: { ...spec, use: { at: "2026-01-01T00:02:00Z", by: "kestra-0", via: "Kubernetes" } },
};

describe("approval transitions", () => {
  it("reports a decision and a use once each, as they appear", () => {
    assert.deepEqual(transitions(pending, approved), [
      { outcome: "approved", reason: "Approved", message: "Approved by ops-alice: ticket 7" },
    ]);
    assert.deepEqual(
      transitions(approved, used).map((t) => t.outcome),
      ["used"],
    );
    assert.deepEqual(
      transitions(pending, used).map((t) => t.outcome),
      ["approved", "used"],
      "both seen in one step",
    );
    assert.deepEqual(transitions(used, used), []);
    assert.deepEqual(transitions(pending, denied), [
      { outcome: "denied", reason: "Denied", message: "Denied by ops-bob" },
    ]);
    assert.deepEqual(transitions(undefined, pending), []);
  });

  it("says how a use was approved", () => {
    const atClient: A = { spec: { ...spec, use: { at: "2026-01-01T00:02:00Z", by: "kestra-1", via: "Elicitation" } } };
    assert.equal(
      transitions(pending, atClient)[0]?.message,
      "The call was forwarded by kestra-1 (approved by the person at the client)",
    );
  });

  it("counts as expired only what nobody used or denied, and as pending only what waits for a person", () => {
    assert.deepEqual([pending, approved, denied, used].map(expiresUnused), [true, true, false, false]);
    const before = Date.parse("2026-01-01T00:10:00Z");
    const after = Date.parse("2026-01-01T00:20:00Z");
    assert.deepEqual(
      [pending, approved, denied, used].map((a) => isPending(a, before)),
      [true, false, false, false],
    );
    assert.equal(isPending(pending, after), false);
  });
});
