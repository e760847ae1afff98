import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PolicyIndex, policyEntry } from "./policy-index.ts";

const policy = (name: string, spec: unknown, namespace = "agents") => ({
  apiVersion: "mcpwarden.io/v1alpha1",
  kind: "McpPolicy",
  metadata: { name, namespace, uid: `uid-${name}` },
  spec,
});

describe("policyEntry", () => {
  it("selects no pods without a podSelector or with an empty one", () => {
    assert.equal(policyEntry(policy("a", {})).matches({ app: "x" }), false);
    assert.equal(policyEntry(policy("b", { podSelector: {} })).matches({ app: "x" }), false);
    assert.equal(policyEntry(policy("c", { podSelector: { matchLabels: { app: "x" } } })).matches({ app: "x" }), true);
  });

  it("reads the settings that shape the sidecar, with schema defaults", () => {
    const e = policyEntry(
      policy("k", {
        podSelector: { matchLabels: { a: "b" } },
        upstream: { profile: "kestra" },
        identity: { apiKeys: { secretRef: { name: "s", key: "k" } } },
      }),
    );
    assert.deepEqual(e.injection, {
      upstreamPort: undefined,
      upstreamPath: "/mcp",
      profile: "kestra",
      listenPort: 8080,
      resources: undefined,
      apiKeysSecret: { name: "s", key: "k" },
      redisSecret: undefined,
      approvalStateKeySecret: undefined,
      required: false,
    });
    assert.equal(e.specProblem, undefined);
  });

  it("reports a spec the schema rejects, but still selects with its podSelector", () => {
    const e = policyEntry(policy("bad", { podSelector: { matchLabels: { app: "x" } }, mode: "Sometimes" }));
    assert.match(e.specProblem ?? "", /^spec\.mode: /);
    assert.equal(e.matches({ app: "x" }), true, "an invalid policy still governs its pods (its sidecar denies all)");
  });
});

describe("PolicyIndex", () => {
  it("finds the policies selecting a pod in its namespace only, sorted by name", () => {
    const index = new PolicyIndex();
    index.set(policyEntry(policy("zeta", { podSelector: { matchLabels: { app: "x" } } })));
    index.set(
      policyEntry(policy("alpha", { podSelector: { matchExpressions: [{ key: "app", operator: "Exists" }] } })),
    );
    index.set(policyEntry(policy("other-ns", { podSelector: { matchLabels: { app: "x" } } }, "elsewhere")));
    assert.deepEqual(
      index.selecting("agents", { app: "x" }).map((p) => p.name),
      ["alpha", "zeta"],
    );
    assert.deepEqual(
      index.selecting("agents", { app: "y" }).map((p) => p.name),
      ["alpha"],
    );
    assert.equal(index.size, 3);
    index.delete("agents", "alpha");
    assert.deepEqual(index.selecting("agents", { app: "y" }), []);
    assert.equal(index.size, 2);
  });

  it("replaces a policy on update without double counting", () => {
    const index = new PolicyIndex();
    index.set(policyEntry(policy("a", { podSelector: { matchLabels: { v: "1" } } })));
    const old = index.set(policyEntry(policy("a", { podSelector: { matchLabels: { v: "2" } } })));
    assert.ok(old);
    assert.equal(index.size, 1);
    assert.deepEqual(
      index.selecting("agents", { v: "2" }).map((p) => p.name),
      ["a"],
    );
  });
});
