// Compiles a loaded policy once per version into per-tool plans. Every expression, schema and limit is
// checked here, and every problem is reported with its field path; nothing can fail to compile at call
// time. Deciding a call is then a map lookup plus the tool's own checks, whatever the policy's size.
import { createHash } from "node:crypto";
import { createArgumentsCompiler } from "./arguments-schema.ts";
import { compileCel } from "./cel/compile.ts";
import { globMatches, isGlob } from "./glob.ts";
import { describeWindow, parseDuration } from "./duration.ts";
import type { LoadedPolicy, PolicyFormat } from "./load.ts";
import { fieldPath, jsonPointer, PolicyError, type DocPath, type PolicyProblem } from "./paths.ts";
import { buildCheck, type CompiledCheck } from "./checks.ts";
import { DEFAULT_CPU_BUDGET_MS } from "./cpu-budget.ts";
import { parseRedisUrl } from "./ratelimit/redis-target.ts";
import {
  DEFAULT_ALLOW_RULE,
  DEFAULT_DENY_RULE,
  HIDDEN_RULE,
  type Decision,
} from "./decision.ts";
import { refundClasses, type RefundClass } from "./schema-refund.ts";
import type { LimitSpec, McpPolicySpecType, ToolRuleSpec } from "./schema.ts";
import { createResultRulesCompiler, type ResultPlan, type ResultRulesAt } from "./results/rules.ts";
import { compileTargets, type TargetPolicy } from "./targets.ts";

export interface CompiledLimit {
  readonly pointer: string;
  readonly counter: string;
  readonly window: string;
  readonly windowMs: number;
  readonly max: number;
  readonly scope: "grant" | "session" | "global";
  /** The failures that give the call back to this limit's budget. */
  readonly refundOn: readonly RefundClass[];
}

export interface ApprovalSettings {
  readonly timeoutMs: number;
  readonly ttlMs: number;
  readonly via: "kubernetes" | "elicitation" | "both";
}

/** What the engine does with calls of one tool name. */
export interface ToolPlan {
  /** Set when every call of the tool gets the same answer whatever its arguments (hidden, denied). */
  readonly terminal: Evaluation | undefined;
  readonly checks: readonly CompiledCheck[];
  /** Limits consumed when a call is admitted: the policy-wide ones first, each counter once. */
  readonly limits: readonly CompiledLimit[];
  /** The decision once every check passes: allowed, or approval required. */
  readonly admitted: Evaluation;
  readonly approval: ApprovalSettings | undefined;
  /** What happens to the results of admitted calls (policy/results); undefined when no rule says. */
  readonly results: ResultPlan | undefined;
}

/** A decision plus the plan it came from (limits to consume, approval settings). */
export interface Evaluation extends Decision {
  readonly plan: ToolPlan;
}

/** Builds a plan whose precomputed evaluations point back at it, so deciding allocates nothing. */
function makePlan(parts: {
  terminal?: Decision;
  checks: readonly CompiledCheck[];
  limits: readonly CompiledLimit[];
  admitted: Decision;
  approval?: ApprovalSettings;
  results?: ResultPlan | undefined;
}): ToolPlan {
  const plan = { checks: parts.checks, limits: parts.limits, approval: parts.approval, results: parts.results } as {
    -readonly [K in keyof ToolPlan]: ToolPlan[K];
  };
  plan.admitted = Object.freeze({ ...parts.admitted, plan });
  plan.terminal = parts.terminal ? Object.freeze({ ...parts.terminal, plan }) : undefined;
  return Object.freeze(plan);
}

export interface CompiledPolicy {
  readonly name: string;
  readonly format: PolicyFormat;
  readonly generation: number | undefined;
  /** Content digest: identifies the policy version in audit records and `policy_info`. */
  readonly digest: string;
  readonly mode: "Enforce" | "Audit";
  readonly failMode: "closed" | "open";
  /**
   * How a distributed rate-limit store may spread this policy's budgets: by the caller's grant, or all
   * together ("policy") when some limit is global, because a call checks a global budget and its
   * caller's budgets in one atomic step.
   */
  readonly limitPartitioning: "grant" | "policy";
  readonly spec: McpPolicySpecType;
  /**
   * Set when `spec.arguments` is strict: the pointer to that field, the rule of the denials of calls
   * whose arguments do not validate against the tool's declared inputSchema.
   */
  readonly strictArguments: string | undefined;
  readonly warnings: readonly PolicyProblem[];
  /** How long one decision's argument checks may take before the call is denied (policy/cpu-budget.ts). */
  readonly cpuBudgetMs: number;
  planFor(tool: string): ToolPlan;
  /** Whether any rule has result rules (answers that cannot be tied to their call are then withheld). */
  readonly hasResultRules: boolean;
  isHidden(tool: string): boolean;
  /** Whether a rule or the hide list names this tool exactly (used to bound metric labels). */
  namesTool(tool: string): boolean;
  /** The `resources:` block; undefined when the policy says nothing about resources (they pass). */
  readonly resources: TargetPolicy | undefined;
  /** The `prompts:` block; undefined when the policy says nothing about prompts (they pass). */
  readonly prompts: TargetPolicy | undefined;
}

type Action = "allow" | "deny" | "approve";
const STRICTNESS: Record<Action, number> = { allow: 0, approve: 1, deny: 2 };
/** Tool names resolved through globs or the default are memoised; the bound keeps caller-chosen
 * names from growing it without limit. */
const RESOLVED_CACHE_LIMIT = 4096;

interface RuleEntry {
  readonly rule: ToolRuleSpec;
  readonly index: number;
  readonly checks: CompiledCheck[];
  readonly limits: CompiledLimit[];
}

export interface CompileOptions {
  /** Overrides DEFAULT_CPU_BUDGET_MS (tests, benchmarks). */
  readonly cpuBudgetMs?: number;
}

export function compilePolicy(loaded: LoadedPolicy, options: CompileOptions = {}): CompiledPolicy {
  const { spec } = loaded;
  const problems: PolicyProblem[] = [...loaded.problems];
  const at = (specPath: DocPath): DocPath => loaded.docPath(specPath);
  const problem = (specPath: DocPath, message: string) => problems.push({ path: at(specPath), message });
  const pointer = (specPath: DocPath) => jsonPointer(at(specPath));
  const describe = (specPath: DocPath) => fieldPath(at(specPath));

  // Limits: a counter name is one budget, so it must have one definition.
  const counters = new Map<string, { limit: CompiledLimit; path: DocPath }>();
  const compileLimit = (limit: LimitSpec, specPath: DocPath, privateName: string): CompiledLimit | undefined => {
    const windowMs = parseDuration(limit.window);
    if (windowMs === undefined) {
      problem([...specPath, "window"], `invalid window "${limit.window}"`);
      return undefined;
    }
    const compiled: CompiledLimit = {
      pointer: pointer(specPath),
      counter: limit.counter ?? privateName,
      window: limit.window,
      windowMs,
      max: limit.max,
      scope: limit.scope,
      refundOn: refundClasses(limit),
    };
    const existing = counters.get(compiled.counter);
    if (!existing) {
      counters.set(compiled.counter, { limit: compiled, path: specPath });
    } else {
      const a = existing.limit;
      if (a.windowMs !== windowMs || a.max !== limit.max || a.scope !== limit.scope) {
        problem(
          specPath,
          `counter "${compiled.counter}" is already defined at ${describe(existing.path)} as ${a.max} per ${a.window} per ${a.scope}; ` +
            `one counter is one budget, so every use must define it the same way`,
        );
      }
    }
    return compiled;
  };

  const compileArguments = createArgumentsCompiler();
  // Predicates are pure, so one compiled predicate serves every rule with the same source text.
  const celCache = new Map<string, ReturnType<typeof compileCel>>();
  const compileExpression = (source: string) => {
    let compiled = celCache.get(source);
    if (compiled === undefined) celCache.set(source, (compiled = compileCel(source)));
    return compiled;
  };

  // hide
  const hideExact = new Set<string>();
  const hideGlobs: string[] = [];
  (spec.hide ?? []).forEach((name, i) => {
    if (hideExact.has(name) || hideGlobs.includes(name)) problem(["hide", i], `duplicate entry "${name}"`);
    if (isGlob(name)) hideGlobs.push(name);
    else hideExact.add(name);
  });
  const isHidden = (tool: string): boolean => hideExact.has(tool) || hideGlobs.some((g) => globMatches(g, tool));

  // Result rules and detectors (policy/results)
  const resultRules = createResultRulesCompiler(spec.detectors, problem, pointer);
  const allToolsResults: ResultRulesAt[] = spec.allTools?.results ? [{ rules: spec.allTools.results, path: ["allTools", "results"] }] : [];
  for (const at of allToolsResults) resultRules.check(at);
  const resultsOf = (entries: readonly RuleEntry[]): ResultPlan | undefined =>
    resultRules.planFor([
      ...allToolsResults,
      ...entries.flatMap((e) => (e.rule.results ? [{ rules: e.rule.results, path: ["tools", e.index, "results"] }] : [])),
    ]);

  // allTools
  const allToolsLimits: CompiledLimit[] = [];
  (spec.allTools?.limits ?? []).forEach((limit, i) => {
    const compiled = compileLimit(limit, ["allTools", "limits", i], `allTools/limits/${i}`);
    if (compiled) allToolsLimits.push(compiled);
  });

  // tools
  const exact = new Map<string, RuleEntry>();
  const globs: { pattern: string; entry: RuleEntry }[] = [];
  (spec.tools ?? []).forEach((rule, index) => {
    const base: DocPath = ["tools", index];
    const earlier = exact.get(rule.name) ?? globs.find((g) => g.pattern === rule.name)?.entry;
    if (earlier) {
      problem([...base, "name"], `duplicate rule for "${rule.name}" (first at ${describe(["tools", earlier.index])})`);
      return;
    }
    if (rule.action === "deny") {
      for (const field of ["require", "denyIf", "arguments", "limits", "approval", "results"] as const) {
        if (rule[field] !== undefined) problem([...base, field], `has no effect: the rule's action is deny`);
      }
    }
    if (rule.approval !== undefined && rule.action !== "approve") {
      problem([...base, "approval"], `only applies to rules whose action is approve`);
    }
    if (rule.action !== "deny" && !isGlob(rule.name) && isHidden(rule.name)) {
      problem([...base, "name"], `"${rule.name}" is hidden by hide, which takes precedence: this rule never applies`);
    }

    const checks: CompiledCheck[] = [];
    if (rule.arguments) {
      const validator = compileArguments(rule.arguments);
      if ("problems" in validator) for (const p of validator.problems) problem([...base, "arguments", ...p.path], p.message);
      else checks.push(buildCheck({ kind: "arguments", pointer: pointer([...base, "arguments"]), validator, reason: rule.reason }));
    }
    for (const kind of ["require", "denyIf"] as const) {
      (rule[kind] ?? []).forEach((source, i) => {
        const compiled = compileExpression(source);
        if (!compiled.ok) problem([...base, kind, i], compiled.problem);
        else checks.push(buildCheck({ kind, pointer: pointer([...base, kind, i]), source, predicate: compiled.predicate, reason: rule.reason }));
      });
    }
    const limits: CompiledLimit[] = [];
    (rule.limits ?? []).forEach((limit, i) => {
      const compiled = compileLimit(limit, [...base, "limits", i], `${rule.name}/limits/${i}`);
      if (compiled) limits.push(compiled);
    });
    if (rule.results) resultRules.check({ rules: rule.results, path: [...base, "results"] });
    for (const kind of ["timeout", "ttl"] as const) {
      const text = rule.approval?.[kind];
      if (text !== undefined && parseDuration(text) === undefined) problem([...base, "approval", kind], `invalid duration "${text}"`);
    }

    const entry: RuleEntry = { rule, index, checks, limits };
    if (isGlob(rule.name)) globs.push({ pattern: rule.name, entry });
    else exact.set(rule.name, entry);
  });

  // rateLimit: a Redis store needs exactly one source for its URL; a URL in the policy must parse.
  const redis = spec.rateLimit?.redis;
  if (spec.rateLimit?.store === "redis") {
    if (redis?.url === undefined && redis?.secretRef === undefined) {
      problem(["rateLimit"], "store redis needs redis.url or redis.secretRef");
    } else if (redis.url !== undefined && redis.secretRef !== undefined) {
      problem(["rateLimit", "redis"], "set url or secretRef, not both");
    }
  }
  if (redis?.url !== undefined) {
    try {
      parseRedisUrl(redis.url);
    } catch (err) {
      problem(["rateLimit", "redis", "url"], (err as Error).message);
    }
  }

  const targetContext = { policyName: loaded.name, problem, pointer, compileLimit, compileArguments };
  const resources = compileTargets(spec, "resource", targetContext);
  const prompts = compileTargets(spec, "prompt", targetContext);

  if (problems.length > 0) throw new PolicyError(problems);

  // Plans
  const denyDecision = (entry: RuleEntry, tool: string): Decision => ({
    decision: "denied",
    reason: "tool_denied",
    message: entry.rule.reason ?? `Tool '${tool}' is denied by ${policyNamed(loaded.name)}. Do not retry it; ask an operator if you need it.`,
    rule: pointer(["tools", entry.index]),
  });
  const planForRules = (tool: string, entries: RuleEntry[]): ToolPlan => {
    const action = entries.reduce<Action>((a, e) => (STRICTNESS[e.rule.action] > STRICTNESS[a] ? e.rule.action : a), "allow");
    const winners = entries.filter((e) => e.rule.action === action);
    const first = winners[0] as RuleEntry;
    if (action === "deny") return terminalPlan(denyDecision(first, tool));
    const approval = action === "approve" ? approvalSettings(first.rule) : undefined;
    const admitted: Decision =
      action === "approve"
        ? {
            decision: "approval_required",
            reason: "approval_required",
            message: `Calls to '${tool}' need approval by a person before they run.`,
            rule: pointer(["tools", first.index]),
          }
        : { decision: "allowed", reason: "rule_allowed", message: "", rule: pointer(["tools", first.index]) };
    return makePlan({
      checks: winners.flatMap((e) => e.checks),
      limits: uniqueByCounter([...allToolsLimits, ...winners.flatMap((e) => e.limits)]),
      admitted,
      ...(approval ? { approval } : {}),
      // Every matching rule's result rules apply, whichever decided the call.
      results: resultsOf(entries),
    });
  };

  const hiddenPlan = terminalPlan({ decision: "denied", reason: "hidden", message: "", rule: HIDDEN_RULE });
  const defaultPlan = (tool: string): ToolPlan =>
    spec.default === "allow"
      ? makePlan({
          checks: [],
          limits: allToolsLimits,
          admitted: { decision: "allowed", reason: "default_allow", message: "", rule: DEFAULT_ALLOW_RULE },
          results: resultsOf([]),
        })
      : terminalPlan({
          decision: "denied",
          reason: "default_deny",
          message: `Tool '${tool}' is not allowed by ${policyNamed(loaded.name)} (default deny). Do not retry it; use another tool or ask an operator to allow it.`,
          rule: DEFAULT_DENY_RULE,
        });

  const resolve = (tool: string): ToolPlan => {
    if (isHidden(tool)) return hiddenPlan;
    const direct = exact.get(tool);
    if (direct) return planForRules(tool, [direct]);
    const matching = globs.filter((g) => globMatches(g.pattern, tool)).map((g) => g.entry);
    return matching.length > 0 ? planForRules(tool, matching) : defaultPlan(tool);
  };

  const exactPlans = new Map<string, ToolPlan>();
  for (const name of exact.keys()) exactPlans.set(name, resolve(name));
  const resolved = new Map<string, ToolPlan>();
  const planFor = (tool: string): ToolPlan => {
    const known = exactPlans.get(tool) ?? resolved.get(tool);
    if (known) return known;
    const plan = resolve(tool);
    if (resolved.size >= RESOLVED_CACHE_LIMIT) resolved.clear();
    resolved.set(tool, plan);
    return plan;
  };

  return {
    name: loaded.name,
    format: loaded.format,
    generation: loaded.generation,
    digest: createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 12),
    mode: spec.mode,
    failMode: spec.rateLimit?.failMode ?? "closed",
    limitPartitioning: [...counters.values()].some((c) => c.limit.scope === "global") ? "policy" : "grant",
    spec,
    strictArguments: spec.arguments === "strict" ? pointer(["arguments"]) : undefined,
    warnings: loaded.warnings,
    cpuBudgetMs: options.cpuBudgetMs ?? DEFAULT_CPU_BUDGET_MS,
    planFor,
    hasResultRules: allToolsResults.length > 0 || (spec.tools ?? []).some((r) => r.results !== undefined),
    isHidden,
    namesTool: (tool) => exact.has(tool) || hideExact.has(tool),
    resources,
    prompts,
  };
}

function terminalPlan(decision: Decision): ToolPlan {
  return makePlan({ terminal: decision, checks: [], limits: [], admitted: decision });
}

function uniqueByCounter(limits: CompiledLimit[]): CompiledLimit[] {
  const seen = new Set<string>();
  return limits.filter((l) => (seen.has(l.counter) ? false : (seen.add(l.counter), true)));
}

function approvalSettings(rule: ToolRuleSpec): ApprovalSettings {
  const a = rule.approval;
  return {
    timeoutMs: parseDuration(a?.timeout ?? "5m") ?? 300_000,
    ttlMs: parseDuration(a?.ttl ?? "15m") ?? 900_000,
    via: a?.via ?? "kubernetes",
  };
}

/** "10 per minute per caller": how a limit reads in a message. */
export function describeLimit(limit: CompiledLimit): string {
  const per = { grant: "per caller", session: "per session", global: "for all callers" }[limit.scope];
  return `${limit.max} call${limit.max === 1 ? "" : "s"} per ${describeWindow(limit.window, limit.windowMs)} ${per}`;
}

/**
 * How a policy is named in a message: quoted, so that any name reads as a name ("by policy 'policy'",
 * "by policy 'agents/kestra'"), whatever words it is made of.
 */
export function policyNamed(name: string): string {
  return `policy '${name}'`;
}
