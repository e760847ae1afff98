// The plan of each tool name, from the compiled rules: hidden first, then the exact rule, else the
// strictest of the matching globs (deny > approve > allow), else the policy's default. Plans of names
// rules give exactly are made at compile time; others are made when first asked for and memoised.
import type { HideList, RuleEntry, ToolRules } from "./compile-tools.ts";
import { DEFAULT_ALLOW_RULE, DEFAULT_DENY_RULE, HIDDEN_RULE, type Decision } from "./decision.ts";
import { parseDuration } from "./duration.ts";
import { globMatches } from "./glob.ts";
import type { DocPath } from "./paths.ts";
import {
  makePlan,
  policyNamed,
  terminalPlan,
  uniqueByCounter,
  type ApprovalSettings,
  type CompiledLimit,
  type ToolPlan,
} from "./plan.ts";
import type { ResultPlan } from "./results/rules.ts";
import type { McpPolicySpecType, ToolRuleSpec } from "./schema.ts";

type Action = "allow" | "deny" | "approve";
const STRICTNESS: Record<Action, number> = { allow: 0, approve: 1, deny: 2 };
/** Tool names resolved through globs or the default are memoised; the bound keeps caller-chosen
 * names from growing it without limit. */
const RESOLVED_CACHE_LIMIT = 4096;

export interface ToolPlanInputs {
  readonly policyName: string;
  readonly spec: McpPolicySpecType;
  readonly hide: HideList;
  readonly rules: ToolRules;
  /** The `allTools` limits, consumed by every admitted call before its rule's own. */
  readonly allToolsLimits: readonly CompiledLimit[];
  /** The result plan of the rules that apply (allTools' results are added by the caller). */
  resultsOf(entries: readonly RuleEntry[]): ResultPlan | undefined;
  pointer(specPath: DocPath): string;
}

/** `planFor(tool)`: the plan of any tool name. */
export function createToolPlans(inputs: ToolPlanInputs): (tool: string) => ToolPlan {
  const resolve = planResolver(inputs);
  const exactPlans = new Map<string, ToolPlan>();
  for (const name of inputs.rules.exact.keys()) exactPlans.set(name, resolve(name));
  const resolved = new Map<string, ToolPlan>();
  return (tool) => {
    const known = exactPlans.get(tool) ?? resolved.get(tool);
    if (known) return known;
    const plan = resolve(tool);
    if (resolved.size >= RESOLVED_CACHE_LIMIT) resolved.clear();
    resolved.set(tool, plan);
    return plan;
  };
}

function planResolver(inputs: ToolPlanInputs): (tool: string) => ToolPlan {
  const { hide, rules } = inputs;
  const hiddenPlan = terminalPlan({ decision: "denied", reason: "hidden", message: "", rule: HIDDEN_RULE });
  return (tool) => {
    if (hide.isHidden(tool)) return hiddenPlan;
    const direct = rules.exact.get(tool);
    if (direct) return planForRules(inputs, tool, [direct]);
    const matching = rules.globs.filter((g) => globMatches(g.pattern, tool)).map((g) => g.entry);
    return matching.length > 0 ? planForRules(inputs, tool, matching) : defaultPlan(inputs, tool);
  };
}

function planForRules(inputs: ToolPlanInputs, tool: string, entries: RuleEntry[]): ToolPlan {
  const action = entries.reduce<Action>(
    (a, e) => (STRICTNESS[e.rule.action] > STRICTNESS[a] ? e.rule.action : a),
    "allow",
  );
  const winners = entries.filter((e) => e.rule.action === action);
  const first = winners[0] as RuleEntry;
  const rule = inputs.pointer(["tools", first.index]);
  if (action === "deny") {
    const message =
      first.rule.reason ??
      `Tool '${tool}' is denied by ${policyNamed(inputs.policyName)}. Do not retry it; ask an operator if you need it.`;
    return terminalPlan({ decision: "denied", reason: "tool_denied", message, rule });
  }
  const approval = action === "approve" ? approvalSettings(first.rule) : undefined;
  const admitted: Decision =
    action === "approve"
      ? {
          decision: "approval_required",
          reason: "approval_required",
          message: `Calls to '${tool}' need approval by a person before they run.`,
          rule,
        }
      : { decision: "allowed", reason: "rule_allowed", message: "", rule };
  return makePlan({
    checks: winners.flatMap((e) => e.checks),
    limits: uniqueByCounter([...inputs.allToolsLimits, ...winners.flatMap((e) => e.limits)]),
    admitted,
    ...(approval ? { approval } : {}),
    // Every matching rule's result rules apply, whichever decided the call.
    results: inputs.resultsOf(entries),
  });
}

function defaultPlan(inputs: ToolPlanInputs, tool: string): ToolPlan {
  if (inputs.spec.default === "allow") {
    return makePlan({
      checks: [],
      limits: inputs.allToolsLimits,
      admitted: { decision: "allowed", reason: "default_allow", message: "", rule: DEFAULT_ALLOW_RULE },
      results: inputs.resultsOf([]),
    });
  }
  return terminalPlan({
    decision: "denied",
    reason: "default_deny",
    message: `Tool '${tool}' is not allowed by ${policyNamed(inputs.policyName)} (default deny). Do not retry it; use another tool or ask an operator to allow it.`,
    rule: DEFAULT_DENY_RULE,
  });
}

function approvalSettings(rule: ToolRuleSpec): ApprovalSettings {
  const a = rule.approval;
  return {
    timeoutMs: parseDuration(a?.timeout ?? "5m") ?? 300_000,
    ttlMs: parseDuration(a?.ttl ?? "15m") ?? 900_000,
    via: a?.via ?? "kubernetes",
  };
}
