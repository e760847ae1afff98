import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileLabelSelector, formatLabelSelector } from "./label-selector.ts";

describe("compileLabelSelector", () => {
  it("matches nothing without a selector and everything with an empty one", () => {
    assert.equal(compileLabelSelector(undefined)({ app: "x" }), false);
    assert.equal(compileLabelSelector({})({}), true);
    assert.equal(compileLabelSelector({})(undefined), true);
  });

  it("requires every matchLabels pair", () => {
    const m = compileLabelSelector({ matchLabels: { app: "kestra", tier: "mcp" } });
    assert.equal(m({ app: "kestra", tier: "mcp", extra: "1" }), true);
    assert.equal(m({ app: "kestra" }), false);
    assert.equal(m({ app: "kestra", tier: "web" }), false);
    assert.equal(m(undefined), false);
  });

  it("applies set-based requirements as the API server does", () => {
    const m = compileLabelSelector({
      matchExpressions: [
        { key: "env", operator: "In", values: ["dev", "test"] },
        { key: "legacy", operator: "DoesNotExist" },
        { key: "track", operator: "NotIn", values: ["canary"] },
        { key: "app", operator: "Exists" },
      ],
    });
    assert.equal(m({ env: "dev", app: "a" }), true, "NotIn matches an absent key");
    assert.equal(m({ env: "dev", app: "a", track: "stable" }), true);
    assert.equal(m({ env: "dev", app: "a", track: "canary" }), false);
    assert.equal(m({ env: "prod", app: "a" }), false);
    assert.equal(m({ env: "dev" }), false, "Exists needs the key");
    assert.equal(m({ env: "dev", app: "a", legacy: "" }), false, "DoesNotExist fails on an empty value too");
  });

  it("does not treat inherited properties as labels", () => {
    assert.equal(compileLabelSelector({ matchExpressions: [{ key: "toString", operator: "Exists" }] })({}), false);
  });
});

describe("formatLabelSelector", () => {
  it("reads like kubectl -l", () => {
    assert.equal(
      formatLabelSelector({
        matchLabels: { b: "2", a: "1" },
        matchExpressions: [
          { key: "t", operator: "In", values: ["y", "x"] },
          { key: "z", operator: "DoesNotExist" },
        ],
      }),
      "a=1,b=2,t in (x,y),!z",
    );
    assert.equal(formatLabelSelector(undefined), "<none>");
  });
});
