import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { compilePolicy } from "../compile.ts";
import { evaluateToolCall } from "../decide.ts";
import { loadPolicyObject } from "../load.ts";
import { call } from "../testing.ts";
import { KESTRA_TOOLS, type CatalogTool } from "./kestra.ts";
import { LEVELS, recommendKestraPolicy, type Level } from "./recommend.ts";

interface FixtureTool {
  name: string;
  inputSchema: { properties?: Record<string, { enum?: string[]; default?: unknown }>; required?: string[] };
}
const fixture = JSON.parse(readFileSync(new URL("../../test/fixtures/kestra-tools-list.json", import.meta.url), "utf8")) as { tools: FixtureTool[] };

test("the catalogue covers exactly the 39 tools of the Kestra server, with their action values", () => {
  assert.equal(KESTRA_TOOLS.length, 39);
  assert.deepEqual(KESTRA_TOOLS.map((t) => t.name).sort(), fixture.tools.map((t) => t.name).sort());
  for (const tool of fixture.tools) {
    const entry = KESTRA_TOOLS.find((t) => t.name === tool.name) as CatalogTool;
    const action = tool.inputSchema.properties?.action;
    assert.deepEqual(Object.keys(entry.actions ?? {}).sort(), [...(action?.enum ?? [])].sort(), `${tool.name} actions`);
    assert.equal(entry.defaultAction, action?.default, `${tool.name} default action`);
    assert.equal(entry.autoCreate ?? false, "auto_create" in (tool.inputSchema.properties ?? {}), `${tool.name} auto_create`);
  }
});

/** What each level must decide for each kind of call. Multi-action tools allow read actions only. */
const EXPECTED: Record<Level, Record<string, string>> = {
  "read-only": { read: "allowed", write: "denied", execute: "denied", delete: "denied", storedRead: "allowed", generate: "allowed", autoCreate: "denied", executeAction: "denied" },
  balanced: { read: "allowed", write: "denied", execute: "allowed", delete: "denied", storedRead: "allowed", generate: "allowed", autoCreate: "denied", executeAction: "denied" },
  strict: { read: "allowed", write: "denied", execute: "approval_required", delete: "denied", storedRead: "denied", generate: "allowed", autoCreate: "denied", executeAction: "denied" },
};

/** One call per tool and per action, with arguments that satisfy the server's required fields. */
function callsFor(tool: CatalogTool): { args: Record<string, unknown>; kind: string }[] {
  const schema = fixture.tools.find((t) => t.name === tool.name)?.inputSchema;
  const base: Record<string, unknown> = {};
  for (const field of schema?.required ?? []) if (field !== "action") base[field] = field === "labels" ? {} : `${field}-1`;
  for (const target of ["execution_id", "execution_ids", "ids"]) if (schema?.properties?.[target]) base[target] = target === "execution_id" ? "e1" : ["e1"];
  if (tool.autoCreate) return [{ args: base, kind: "generate" }, { args: { ...base, auto_create: true }, kind: "autoCreate" }];
  if (!tool.actions) return [{ args: base, kind: tool.name === "force_run_execution" ? "force" : tool.risk }];
  return Object.entries(tool.actions).map(([action, risk]) => ({
    args: { ...base, action },
    kind:
      risk === "read" && tool.returnsStoredValues && (action === "get" || (tool.name === "manage_kv_store" && action === "list"))
        ? "storedRead"
        : risk === "execute"
          ? "executeAction"
          : risk,
  }));
}

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
      for (const tool of KESTRA_TOOLS) {
        for (const { args, kind } of callsFor(tool)) {
          const expected = kind === "force" ? (level === "strict" ? "approval_required" : "denied") : EXPECTED[level][kind];
          const d = evaluateToolCall(policy, call(tool.name, args));
          assert.equal(d.decision, expected, `${level}: ${tool.name} ${JSON.stringify(args)} (${kind}) → ${d.decision}: ${d.message}`);
          if (d.decision === "denied") assert.ok(d.message.length > 20, "denials carry a reason");
        }
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
