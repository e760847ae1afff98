import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compilePolicy } from "../compile.ts";
import { evaluateToolCall } from "../decide.ts";
import { loadPolicyObject } from "../load.ts";
import { call } from "../testing.ts";
import { KESTRA_TOOLS, type CatalogTool } from "./kestra.ts";
import { LEVELS, recommendKestraPolicy } from "./recommend.ts";
import { createDeclaredSchemaCompiler, type DeclaredInputSchemas } from "../input-schemas.ts";
import { bypassAttempts, KESTRA_FIXTURE, kestraCalls, placeholderArguments, PROMISED } from "./testing.ts";

/** The Kestra server's declared input schemas, as the sidecar learns them from its tools/list. */
const DECLARED: DeclaredInputSchemas = (() => {
  const compile = createDeclaredSchemaCompiler();
  const byName = new Map(KESTRA_FIXTURE.map((t) => [t.name, compile(t.inputSchema, JSON.stringify(t.inputSchema))]));
  return { lookup: (tool: string) => byName.get(tool) };
})();

test("the catalogue covers exactly the 39 tools of the Kestra server, with their action values", () => {
  assert.equal(KESTRA_TOOLS.length, 39);
  assert.deepEqual(KESTRA_TOOLS.map((t) => t.name).sort(), KESTRA_FIXTURE.map((t) => t.name).sort());
  for (const tool of KESTRA_FIXTURE) {
    const entry = KESTRA_TOOLS.find((t) => t.name === tool.name) as CatalogTool;
    const action = tool.inputSchema.properties?.action;
    assert.deepEqual(Object.keys(entry.actions ?? {}).sort(), [...(action?.enum ?? [])].sort(), `${tool.name} actions`);
    assert.equal(entry.defaultAction, action?.default, `${tool.name} default action`);
    assert.equal(
      entry.autoCreate ?? false,
      "auto_create" in (tool.inputSchema.properties ?? {}),
      `${tool.name} auto_create`,
    );
    // Targets are declared arguments, and every argument that names an execution is a target.
    const declared = tool.inputSchema.properties ?? {};
    for (const target of Object.keys(entry.targets ?? {}))
      assert.ok(target in declared, `${tool.name}: target ${target} is declared`);
    for (const id of ["execution_id", "execution_ids", "ids"])
      if (id in declared) assert.ok(entry.targets?.[id], `${tool.name}: ${id} is a target`);
  }
});

for (const level of LEVELS) {
  describe(`policy init --level ${level}`, () => {
    const recommended = recommendKestraPolicy(level, "kestra", "agents");
    const policy = compilePolicy(loadPolicyObject(recommended.resource, "kestra"));

    test("compiles clean, names every tool and comments every rule", () => {
      assert.equal(recommended.resource.spec.default, "deny");
      assert.equal(recommended.resource.spec.arguments, "strict", "arguments are checked as the tools declare them");
      assert.equal(recommended.resource.spec.tools?.length, 39);
      // The server serves no resources or prompts: the policy states its choice, deny, explicitly.
      assert.deepEqual(
        [recommended.resource.spec.resources, recommended.resource.spec.prompts],
        [{ default: "deny" }, { default: "deny" }],
      );
      assert.ok(recommended.comments.every((c) => c.length > 0));
    });

    test("decides every tool and action as the level promises", () => {
      const calls = kestraCalls();
      assert.equal(calls.length, 74, "one call per tool, per action and per generator mode");
      for (const { tool, args, kind } of calls) {
        const d = evaluateToolCall(policy, call(tool, args), DECLARED);
        assert.equal(
          d.decision,
          PROMISED[level][kind],
          `${level}: ${tool} ${JSON.stringify(args)} (${kind}) → ${d.decision}: ${d.message}`,
        );
        if (d.decision === "denied") assert.ok(d.message.length > 20, "denials carry a reason");
      }
    });

    if (level !== "read-only") {
      test("execute tools are capped at 10 per minute per grant and must name their target", () => {
        for (const name of [
          "resume_execution",
          "restart_execution",
          "replay_execution",
          "execute_flow",
          "backfill_executions",
          "change_taskrun_state",
        ]) {
          const limits = policy.planFor(name).limits;
          assert.deepEqual(
            limits.map((l) => [l.counter, l.max, l.window, l.scope]),
            [[`${name}_rate`, 10, "minute", "grant"]],
            name,
          );
        }
        const untargeted = evaluateToolCall(
          policy,
          call("restart_execution", { namespace: "n", flow_id: "f" }),
          DECLARED,
        );
        assert.deepEqual(
          [untargeted.decision, untargeted.reason, untargeted.rule],
          ["denied", "invalid_arguments", "/spec/tools/35/arguments"],
        );
        assert.match(
          untargeted.message,
          /must name its target \(namespace, flow_id, execution_id; none empty\); without it Kestra picks the latest one/,
        );
      });
    }

    test("refuses coerced flags and empty targets: by the declared schemas first, by its own schemas even without them", () => {
      const attempts = bypassAttempts(placeholderArguments);
      assert.ok(attempts.length > 90, `${attempts.length} attempts`);
      for (const { tool, args, why } of attempts) {
        const strict = evaluateToolCall(policy, call(tool, args), DECLARED);
        assert.equal(strict.decision, "denied", `${level}: ${tool} with ${why} → ${strict.decision}`);
        assert.ok(
          ["input_schema_mismatch", "invalid_arguments", "tool_denied"].includes(strict.reason),
          `${tool} ${why}: ${strict.reason}`,
        );
        // What only the declared schema catches: flags the policy has no rule on.
        if (why.startsWith("latest_revision") || why.startsWith("wait")) continue;
        const offline = evaluateToolCall(policy, call(tool, args));
        assert.equal(offline.decision, "denied", `${level}, rules alone: ${tool} with ${why} → ${offline.decision}`);
      }
      const coerced = evaluateToolCall(
        policy,
        call("generate_flow", { user_prompt: "p", auto_create: "true" }),
        DECLARED,
      );
      assert.deepEqual([coerced.reason, coerced.rule], ["input_schema_mismatch", "/spec/arguments"]);
      assert.match(coerced.message, /argument auto_create must be a boolean, not the string "true"/);
      const empty = evaluateToolCall(policy, call("generate_flow", { user_prompt: "p", auto_create: 1 }));
      assert.deepEqual(
        [empty.reason, empty.rule],
        ["invalid_arguments", "/spec/tools/22/arguments"],
        "offline, the rule's own schema",
      );
    });

    test("namespace_file_action without action is a get (its default), decided as a get", () => {
      const d = evaluateToolCall(policy, call("namespace_file_action", { namespace: "n", path: "p" }));
      assert.equal(d.decision, level === "strict" ? "denied" : "allowed");
    });
  });
}
