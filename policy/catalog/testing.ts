// What each recommended Kestra level promises (ADR 0006), and one call per tool and per action to
// hold it to that promise. Shared by the engine's unit test and the suites that run the generated
// policies through the sidecar in front of the FastMCP Kestra server.
import { readFileSync } from "node:fs";
import type { DecisionKind } from "../decision.ts";
import { KESTRA_TOOLS, type CatalogTool } from "./kestra.ts";
import type { Level } from "./recommend.ts";

/** The kinds of call the levels treat differently. */
export type CallKind =
  "read" | "write" | "execute" | "delete" | "storedRead" | "generate" | "autoCreate" | "executeAction" | "force";

/** What each level decides for each kind of call. Multi-action tools allow read actions only. */
export const PROMISED: Readonly<Record<Level, Readonly<Record<CallKind, DecisionKind>>>> = {
  "read-only": {
    read: "allowed",
    write: "denied",
    execute: "denied",
    delete: "denied",
    storedRead: "allowed",
    generate: "allowed",
    autoCreate: "denied",
    executeAction: "denied",
    force: "denied",
  },
  balanced: {
    read: "allowed",
    write: "denied",
    execute: "allowed",
    delete: "denied",
    storedRead: "allowed",
    generate: "allowed",
    autoCreate: "denied",
    executeAction: "denied",
    force: "denied",
  },
  strict: {
    read: "allowed",
    write: "denied",
    execute: "approval_required",
    delete: "denied",
    storedRead: "denied",
    generate: "allowed",
    autoCreate: "denied",
    executeAction: "denied",
    force: "approval_required",
  },
};

export interface KestraCall {
  tool: string;
  args: Record<string, unknown>;
  kind: CallKind;
}

interface FixtureTool {
  name: string;
  inputSchema: {
    properties?: Record<string, { enum?: string[]; default?: unknown; type?: string; anyOf?: { type?: string }[] }>;
    required?: string[];
  };
}

export const KESTRA_FIXTURE: readonly FixtureTool[] = (
  JSON.parse(readFileSync(new URL("../../test/fixtures/kestra-tools-list.json", import.meta.url), "utf8")) as {
    tools: FixtureTool[];
  }
).tools;

/** Arguments that satisfy the server's required fields and name the target of tools that take one. */
export function placeholderArguments(tool: CatalogTool): Record<string, unknown> {
  const schema = KESTRA_FIXTURE.find((t) => t.name === tool.name)?.inputSchema;
  const args: Record<string, unknown> = {};
  for (const field of schema?.required ?? [])
    if (field !== "action") args[field] = field === "labels" ? {} : `${field}-1`;
  for (const [target, kind] of Object.entries(tool.targets ?? {}))
    args[target] = kind === "id" ? `${target}-1` : [`${target}-1`];
  return args;
}

/**
 * One call per tool, one per action of the multi-action tools, and a generator call with and without
 * `auto_create`, in catalogue order. `base` gives each tool's arguments (without `action`).
 */
export function kestraCalls(base: (tool: CatalogTool) => Record<string, unknown> = placeholderArguments): KestraCall[] {
  return KESTRA_TOOLS.flatMap((tool): KestraCall[] => {
    const args = base(tool);
    if (tool.autoCreate)
      return [
        { tool: tool.name, args, kind: "generate" },
        { tool: tool.name, args: { ...args, auto_create: true }, kind: "autoCreate" },
      ];
    if (!tool.actions)
      return [{ tool: tool.name, args, kind: tool.name === "force_run_execution" ? "force" : tool.risk }];
    return Object.entries(tool.actions).map(([action, risk]) => ({
      tool: tool.name,
      args: { ...args, action },
      kind: kindOfAction(tool, action, risk),
    }));
  });
}

function kindOfAction(tool: CatalogTool, action: string, risk: CatalogTool["risk"]): CallKind {
  const storedRead =
    tool.returnsStoredValues && (action === "get" || (tool.name === "manage_kv_store" && action === "list"));
  if (risk === "read") return storedRead ? "storedRead" : "read";
  return risk === "execute" ? "executeAction" : risk;
}

/** A call that must never run: a value Kestra's server (pydantic) would coerce, or an empty target. */
export interface BypassAttempt {
  tool: string;
  args: Record<string, unknown>;
  /** What the attempt tries, for assertion messages. */
  why: string;
}

/** Values pydantic's lax mode turns into `true`; CEL and JSON Schema see no boolean in any of them. */
export const TRUTHY_NON_BOOLEANS: readonly unknown[] = ["true", 1, "1", "yes", "on", "True"];

/**
 * The argument bypasses (ADR 12) against the recommended policies (balanced and strict allow these tools):
 * `auto_create` coerced to true, and targets that are missing, empty, null or of another type, so that
 * Kestra picks "the latest" target itself. `base` gives each tool's legitimate arguments.
 */
export function bypassAttempts(base: (tool: CatalogTool) => Record<string, unknown>): BypassAttempt[] {
  const tool = (name: string) => KESTRA_TOOLS.find((t) => t.name === name) as CatalogTool;
  const attempts: BypassAttempt[] = [];
  const add = (name: string, change: (args: Record<string, unknown>) => void, why: string) => {
    const args = base(tool(name));
    change(args);
    attempts.push({ tool: name, args, why });
  };
  for (const generator of KESTRA_TOOLS.filter((t) => t.autoCreate)) {
    for (const value of [true, ...TRUTHY_NON_BOOLEANS])
      add(generator.name, (a) => (a.auto_create = value), `auto_create: ${JSON.stringify(value)}`);
  }
  add("replay_execution", (a) => (a.latest_revision = "true"), 'latest_revision: "true"');
  add("execute_flow", (a) => (a.wait = 1), "wait: 1");
  for (const target of KESTRA_TOOLS.filter((t) => t.targets && t.risk !== "delete" && t.risk !== "write")) {
    for (const [name, kind] of Object.entries(target.targets ?? {})) {
      add(target.name, (a) => delete a[name], `${name} missing`);
      add(target.name, (a) => (a[name] = null), `${name}: null`);
      if (kind === "id") {
        add(target.name, (a) => (a[name] = ""), `${name}: ""`);
        add(target.name, (a) => (a[name] = 1), `${name}: 1`);
      } else {
        add(target.name, (a) => (a[name] = []), `${name}: []`);
        add(target.name, (a) => (a[name] = [""]), `${name}: [""]`);
        add(target.name, (a) => (a[name] = [1]), `${name}: [1]`);
        add(target.name, (a) => (a[name] = "e1"), `${name}: "e1"`);
      }
    }
  }
  // manage_executions and the logs tools are allowed for reads: their action stays a read.
  for (const attempt of attempts)
    if (tool(attempt.tool).actions && attempt.args.action === undefined) attempt.args.action = "get";
  return attempts;
}
