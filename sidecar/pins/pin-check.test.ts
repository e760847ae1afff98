import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePolicy } from "../../policy/compile.ts";
import { loadPolicySpec } from "../../policy/load.ts";
import { definitionDigest } from "../../policy/pins/definition-digest.ts";
import { LiveDefinitions } from "./live-definitions.ts";
import { pinsHideTest, pinState, pinVerdict } from "./pin-check.ts";

const A = { name: "a", description: "A" };
const B = { name: "b", description: "B" };
const policy = (pins: Record<string, unknown>, mode = "Enforce") =>
  compilePolicy(
    loadPolicySpec(
      { mode, default: "allow", pins: { tools: { a: definitionDigest(A), b: definitionDigest(B) }, ...pins } },
      "agents/p",
    ),
  );

describe("pin checks", () => {
  it("judge each tool against its pin and the live view", () => {
    const live = new LiveDefinitions();
    live.observe([A, { ...B, description: "changed" }, { name: "c" }], true);
    const pins = policy({}).spec.pins;
    assert.ok(pins);
    assert.deepEqual(
      ["a", "b", "c", "d"].map((t) => pinState(pins, live, t)),
      ["matches", "drifted", "unpinned", "unknown"],
    );
  });

  it("hide drifted tools, pinned tools not judged, and unpinned ones under newTools: hide", () => {
    const live = new LiveDefinitions();
    live.observe([A, { ...B, description: "changed" }, { name: "c" }], true);
    const hide = pinsHideTest(policy({ newTools: "hide" }), live);
    assert.ok(hide);
    assert.deepEqual(["a", "b", "c"].map(hide), [false, true, true]);
    assert.equal(
      pinsHideTest(policy({}), new LiveDefinitions())?.("a"),
      true,
      "a pinned tool the sidecar has not judged is not shown as reviewed",
    );
    assert.equal(pinsHideTest(policy({ onDrift: "deny" }), live), undefined, "deny lists everything");
  });

  it("deny in Enforce only: Audit pins and Audit policies never block", () => {
    const live = new LiveDefinitions();
    live.observe([{ ...A, description: "changed" }], true);
    assert.equal(pinVerdict(policy({}), live, "a")?.reason, "definition_drift");
    assert.equal(pinVerdict(policy({ mode: "Audit" }), live, "a"), undefined);
    assert.equal(pinVerdict(policy({ mode: "Off" }), live, "a"), undefined);
    assert.equal(pinVerdict(policy({}, "Audit"), live, "a"), undefined);
    assert.equal(pinVerdict(policy({}), live, "b")?.reason, "definition_unknown");
    assert.equal(pinVerdict(policy({ newTools: "hide" }), live, "zzz")?.reason, "definition_unpinned");
    assert.equal(pinVerdict(policy({}), live, "zzz"), undefined, "newTools: allow leaves unpinned tools to the rules");
  });

  it("keep the agents' and the sidecar's own definitions apart: a tool with two in force is drifted", () => {
    const pins = policy({}).spec.pins;
    assert.ok(pins);
    const live = new LiveDefinitions();
    live.observe([{ ...A, description: "changed" }], false);
    live.observe([A], true);
    assert.equal(
      pinState(pins, live, "a"),
      "drifted",
      "the sidecar's own listing does not clear what an agent was shown",
    );
    assert.equal(
      live.get("a", definitionDigest(A))?.definition.description,
      "changed",
      "the definition that differs from the pin comes first",
    );
    live.observe([A], false);
    assert.equal(pinState(pins, live, "a"), "matches", "an agent listing the pinned definition again clears it");
    const twice = new LiveDefinitions();
    twice.observe([{ ...B, description: "changed" }, B], false);
    assert.equal(pinState(pins, twice, "b"), "drifted", "a tool listed twice with two definitions");
    twice.observe([B, B], false);
    assert.equal(pinState(pins, twice, "b"), "matches");
  });
});
