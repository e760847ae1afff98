// `mcp-warden policy explain FILE --tool NAME [--args JSON] [--caller SUB] [--tools TOOLS_LIST.json]`: how
// the policy decides one call, with the deciding rule and the limits that would be drawn on. With
// --tools, `arguments: strict` is checked against the declared schemas in that saved tools/list. The
// result rules that apply to the tool are listed; with --result, that result is judged as the sidecar
// would judge the call's answer (redacted, withheld or passed) and shown as the agent would see it.
import { parseArgs } from "node:util";
import { describeLimit, type CompiledLimit, type CompiledPolicy } from "../policy/compile.ts";
import { decideTarget, evaluateTarget, NOT_POLICED_RULE } from "../policy/decide-target.ts";
import type { TargetKind } from "../policy/targets.ts";
import { decideToolCall, evaluateToolCall } from "../policy/decide.ts";
import type { ToolCall } from "../policy/decision.ts";
import { SlidingWindowMemoryStore } from "../policy/ratelimit/memory-store.ts";
import { compilePolicyFile, printProblems } from "./policy-file.ts";
import { readToolsFile } from "./tools-file.ts";
import { UsageError } from "./usage-error.ts";
import { describeCounts, inspectResult } from "../policy/results/inspect.ts";
import type { ResultPlan } from "../policy/results/rules.ts";

/** The result rules of a plan, as data (--json). */
function describeResultPlan(plan: ResultPlan): Record<string, unknown> {
  return {
    rules: plan.pointers,
    redact: [...plan.redact],
    denyIf: [...plan.denyIf],
    ...(plan.maxBytes ? { maxBytes: plan.maxBytes.limit } : {}),
    withholdIf: plan.withholdIf.map((c) => c.source),
  };
}

/** The result rules of a plan, one line each. */
function resultLines(plan: ResultPlan): string[] {
  const lines: string[] = [];
  if (plan.redact.size > 0) lines.push(`redact ${[...plan.redact].join(", ")}`);
  if (plan.denyIf.size > 0) lines.push(`withhold when any of ${[...plan.denyIf].join(", ")} matches`);
  if (plan.maxBytes) {
    const from = plan.maxBytes.pointer.startsWith("(") ? plan.maxBytes.pointer : `(${plan.maxBytes.pointer})`;
    lines.push(`withhold answers over ${plan.maxBytes.limit} bytes ${from}`);
  }
  for (const c of plan.withholdIf) lines.push(`withhold when \`${c.source}\` (${c.pointer})`);
  lines.push(`from ${plan.pointers.join(", ")}`);
  return lines;
}

export const explainUsage =
  "mcp-warden policy explain FILE --tool NAME|--resource URI|--prompt NAME [--args JSON] [--caller SUB] [--groups G1,G2] [--tools TOOLS_LIST.json] [--result JSON] [--json]";

export async function runPolicyExplain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tool: { type: "string" },
      resource: { type: "string" },
      prompt: { type: "string" },
      args: { type: "string", default: "{}" },
      caller: { type: "string" },
      groups: { type: "string", default: "" },
      tools: { type: "string" },
      json: { type: "boolean" },
      result: { type: "string" },
    },
  });
  const toolResult =
    values.result === undefined ? undefined : jsonObjectOption(values.result, "--result", " (a tool result)");
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError("policy explain needs exactly one FILE");
  const targets = [values.tool, values.resource, values.prompt].filter((t) => t !== undefined);
  if (targets.length !== 1)
    throw new UsageError("policy explain needs exactly one of --tool NAME, --resource URI or --prompt NAME");
  const args = jsonObjectOption(values.args, "--args", "");

  const declared = await readToolsFile(values.tools);
  const result = await compilePolicyFile(file);
  if (!result.ok) {
    printProblems(file, result.problems);
    return 1;
  }
  const policy = result.policy;
  if (values.tool === undefined)
    return explainTarget(
      policy,
      values.resource !== undefined ? "resource" : "prompt",
      (values.resource ?? values.prompt) as string,
      args,
      values,
    );
  const call: ToolCall = {
    tool: values.tool,
    args,
    caller: {
      grant: values.caller ?? "anonymous",
      sub: values.caller ?? "",
      groups: values.groups.split(",").filter(Boolean),
      claims: {},
    },
  };
  const store = new SlidingWindowMemoryStore();
  const evaluation = evaluateToolCall(policy, call, declared);
  const decision = await decideToolCall(policy, call, store, declared);
  const limits = evaluation.decision === "denied" ? [] : evaluation.plan.limits;
  const resultPlan = evaluation.decision === "denied" ? undefined : evaluation.plan.results;
  const verdict =
    resultPlan && toolResult !== undefined
      ? inspectResult(resultPlan, toolResult, {
          policy: policy.name,
          tool: call.tool,
          args: call.args,
          caller: call.caller,
        })
      : undefined;
  if (values.json) {
    const { reservation: _r, ...shown } = decision;
    const results = resultPlan ? { ...describeResultPlan(resultPlan), ...(verdict ? { verdict } : {}) } : undefined;
    process.stdout.write(
      JSON.stringify(
        {
          policy: policy.name,
          mode: policy.mode,
          tool: call.tool,
          ...shown,
          limits: limits.map((l) => ({
            counter: l.counter,
            rule: l.pointer,
            window: l.window,
            max: l.max,
            scope: l.scope,
          })),
          ...(results ? { results } : {}),
        },
        null,
        2,
      ) + "\n",
    );
    return 0;
  }
  for (const [key, value] of explanationLines(policy, call, decision, limits, resultPlan, toolResult, verdict))
    process.stdout.write(`${`${key}:`.padEnd(10)}${value}\n`);
  return 0;
}

/** The text explanation of a tool call's decision: one `key: value` line each. */
function explanationLines(
  policy: CompiledPolicy,
  call: ToolCall,
  decision: Awaited<ReturnType<typeof decideToolCall>>,
  limits: readonly CompiledLimit[],
  resultPlan: ResultPlan | undefined,
  toolResult: unknown,
  verdict: ReturnType<typeof inspectResult> | undefined,
): string[][] {
  const lines: string[][] = [
    ["policy", `${policy.name} (${policy.format}, version ${policy.generation ?? policy.digest}, mode ${policy.mode})`],
    ["tool", call.tool],
    ["caller", call.caller.grant],
    ["decision", decision.decision],
    ["reason", decision.reason],
    ["rule", decision.rule],
  ];
  if (decision.message) lines.push(["message", decision.message]);
  for (const limit of limits) lines.push(["limit", `${limit.counter}: ${describeLimit(limit)} (${limit.pointer})`]);
  if (resultPlan) for (const line of resultLines(resultPlan)) lines.push(["results", line]);
  if (resultPlan && toolResult !== undefined && !verdict) lines.push(["verdict", "passed (no result rules)"]);
  if (verdict) {
    lines.push([
      "verdict",
      `${verdict.action}${verdict.reason ? ` (${verdict.reason})` : ""}${Object.keys(verdict.detectors).length > 0 ? `: ${describeCounts(verdict.detectors)}` : ""}`,
    ]);
    lines.push(["shown", JSON.stringify(verdict.result)]);
  }
  if (policy.mode === "Audit" && decision.decision !== "allowed")
    lines.push(["note", "mode is Audit: the call would be logged and forwarded, not blocked"]);
  return lines;
}

/** The value of a flag that takes a JSON object (`--args`, `--result`), or a usage error saying what is wrong. */
function jsonObjectOption(text: string, flag: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new UsageError(`${flag} must be a JSON object${what}`);
  return value as Record<string, unknown>;
}

/** How the policy decides a resources/read or prompts/get (the `resources:` and `prompts:` blocks). */
async function explainTarget(
  policy: CompiledPolicy,
  kind: TargetKind,
  target: string,
  args: Record<string, unknown>,
  values: { caller?: string | undefined; groups: string; json?: boolean | undefined },
): Promise<number> {
  const caller = {
    grant: values.caller ?? "anonymous",
    sub: values.caller ?? "",
    groups: values.groups.split(",").filter(Boolean),
    claims: {},
  };
  const request = { kind, target, args, caller };
  const evaluation = evaluateTarget(policy, request);
  const { reservation: _r, ...decision } = await decideTarget(policy, request, new SlidingWindowMemoryStore());
  const limits = evaluation === undefined || evaluation.decision === "denied" ? [] : evaluation.plan.limits;
  if (values.json) {
    process.stdout.write(
      JSON.stringify(
        {
          policy: policy.name,
          mode: policy.mode,
          kind,
          [kind]: target,
          ...decision,
          limits: limits.map((l) => ({
            counter: l.counter,
            rule: l.pointer,
            window: l.window,
            max: l.max,
            scope: l.scope,
          })),
        },
        null,
        2,
      ) + "\n",
    );
    return 0;
  }
  const lines = [
    ["policy", `${policy.name} (${policy.format}, version ${policy.generation ?? policy.digest}, mode ${policy.mode})`],
    [kind, target],
    ["caller", caller.grant],
    ["decision", decision.decision],
    ["reason", decision.reason],
    ["rule", decision.rule],
  ];
  if (decision.message) lines.push(["message", decision.message]);
  if (decision.rule === NOT_POLICED_RULE)
    lines.push([
      "note",
      `the policy has no ${kind === "resource" ? "resources" : "prompts"}: block, so such requests pass as they are`,
    ]);
  for (const limit of limits) lines.push(["limit", `${limit.counter}: ${describeLimit(limit)} (${limit.pointer})`]);
  for (const [key, value] of lines) process.stdout.write(`${`${key}:`.padEnd(10)}${value}\n`);
  return 0;
}
