import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePolicy } from "../../policy/compile.ts";
import { parsePolicyText } from "../../policy/load.ts";
import { followsNameGuidance, KnownTools, toolLabel, toolNameProblem } from "./tool-names.ts";

const policy = compilePolicy(
  parsePolicyText('{"version":"1","default":"deny","hide":["secret"],"tools":{"ünïcode_tool":{},"files/*":{}}}', "p"),
);

describe("tool names", () => {
  it("follows MCP's name guidance", () => {
    for (const ok of ["a", "list_executions", "ns.tool-v2/x", "A".repeat(128)])
      assert.equal(followsNameGuidance(ok), true, ok);
    for (const bad of ["", "A".repeat(129), "has space", "list_namespaceѕ", "zero\u200bwidth", "tab\t", "ｆull"])
      assert.equal(followsNameGuidance(bad), false, bad);
  });

  it("lets names outside the guidance through only when the policy or the upstream names them exactly", () => {
    const known = new KnownTools();
    assert.equal(toolNameProblem("ünïcode_tool", policy, known), undefined, "named by the policy");
    assert.match(toolNameProblem("weird name", policy, known) ?? "", /not a valid tool name/);
    known.learn(["weird name"]);
    assert.equal(toolNameProblem("weird name", policy, known), undefined, "listed by the upstream");
    assert.match(
      toolNameProblem("files/ｘ", policy, known) ?? "",
      /not a valid tool name/,
      "a glob does not vouch for look-alikes",
    );
  });

  it("labels metrics with known names only", () => {
    const known = new KnownTools(2);
    known.learn(["a", "b", "c"]);
    assert.equal(known.size, 2, "bounded");
    assert.equal(toolLabel("a", policy, known), "a");
    assert.equal(toolLabel("secret", policy, known), "secret");
    assert.equal(toolLabel("files/x", policy, known), "_unknown", "glob matches are not exact names");
    assert.equal(toolLabel("c", policy, known), "_unknown");
  });
});
