import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compilePolicy } from "../compile.ts";
import { evaluateToolCall } from "../decide.ts";
import { loadPolicyObject } from "../load.ts";
import { call } from "../testing.ts";
import { KESTRA_TOOLS, type CatalogTool } from "./kestra.ts";
import { LEVELS, recommendKestraPolicy } from "./recommend.ts";
import { KESTRA_FIXTURE, kestraCalls, PROMISED } from "./testing.ts";

test("the catalogue covers exactly the 39 tools of the Kestra server, with their action values", () => {
  assert.equal(KESTRA_TOOLS.length, 39);
  assert.deepEqual(KESTRA_TOOLS.map((t) => t.name).sort(), KESTRA_FIXTURE.map((t) => t.name).sort());
  for (const tool of KESTRA_FIXTURE) {
    const entry = KESTRA_TOOLS.find((t) => t.name === tool.name) as CatalogTool;
    const action = tool.inputSchema.properties?.action;
    assert.deepEqual(Object.keys(entry.actions ?? {}).sort(), [...(action?.enum ?? [])].sort(), `${tool.name} actions`);
    assert.equal(entry.defaultAction, action?.default, `${tool.name} default action`);
    assert.equal(entry.autoCreate ?? false, "auto_create" in (tool.inputSchema.properties ?? {}), `${tool.name} auto_create`);
  }
});

for (const level of LEVELS) {
  describe(`policy init --level ${level}`, () => {
    const recommended = recommendKestraPolicy(level, "kestra", "agents");
    const policy = compilePolicy(loadPolicyObject(recommended.resource, "kestra"));

    test("compiles clean, names every tool and comments every rule", () => {
      assert.equal(recommended.resource.spec.default, "deny");
      assert.equal(recommended.resource.spec.tools?.length, 39);
      assert.ok(recommended.comments.every((c) => c.length > 0));
    });

    test("decides every tool and action as the level promises", () => {
      const calls = kestraCalls();
      assert.equal(calls.length, 74, "one call per tool, per action and per generator mode");
      for (const { tool, args, kind } of calls) {
        const d = evaluateToolCall(policy, call(tool, args));
        assert.equal(d.decision, PROMISED[level][kind], `${level}: ${tool} ${JSON.stringify(args)} (${kind}) → ${d.decision}: ${d.message}`);
        if (d.decision === "denied") assert.ok(d.message.length > 20, "denials carry a reason");
      }
    });

    if (level !== "read-only") {
      test("execute tools are capped at 10 per minute per grant and must name their target", () => {
        for (const name of ["resume_execution", "restart_execution", "replay_execution", "execute_flow", "backfill_executions", "change_taskrun_state"]) {
          const limits = policy.planFor(name).limits;
          assert.deepEqual(limits.map((l) => [l.counter, l.max, l.window, l.scope]), [[`${name}_rate`, 10, "minute", "grant"]], name);
        }
        const untargeted = evaluateToolCall(policy, call("restart_execution", { namespace: "n", flow_id: "f" }));
        assert.deepEqual([untargeted.decision, untargeted.reason], ["denied", "require_failed"]);
        assert.match(untargeted.message, /must name its target \(execution_id\)/);
      });
    }

    test("namespace_file_action without action is a get (its default), decided as a get", () => {
      const d = evaluateToolCall(policy, call("namespace_file_action", { namespace: "n", path: "p" }));
      assert.equal(d.decision, level === "strict" ? "denied" : "allowed");
    });
  });
}
