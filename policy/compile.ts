// Compiles a loaded policy once per version into per-tool plans. Every expression, schema and limit is
// checked here, and every problem is reported with its field path; nothing can fail to compile at call
// time. Deciding a call is then a map lookup plus the tool's own checks, whatever the policy's size.
// The steps: hide list and rules (compile-tools.ts), limits (compile-limits.ts), result rules
// (results/rules.ts), the Redis store's settings, resources and prompts (targets.ts), then the plans
// (tool-plans.ts). CEL and Ajv load with the first expression or schema (policy/libraries.ts).
import { createHash } from "node:crypto";
import { compileContext, type CompileContext } from "./compile-context.ts";
import { createLimitCompiler, type LimitCompiler } from "./compile-limits.ts";
import { compileHide, compileToolRules, createCheckCompilers, type RuleEntry } from "./compile-tools.ts";
import { DEFAULT_CPU_BUDGET_MS } from "./cpu-budget.ts";
import type { LoadedPolicy, PolicyFormat } from "./load.ts";
import { PolicyError, type PolicyProblem } from "./paths.ts";
import type { CompiledLimit, ToolPlan } from "./plan.ts";
import { parseRedisUrl } from "./ratelimit/redis-target.ts";
import { createResultRulesCompiler, type ResultPlan, type ResultRulesAt } from "./results/rules.ts";
import type { McpPolicySpecType } from "./schema.ts";
import { compileTargets, type TargetPolicy } from "./targets.ts";
import { createToolPlans } from "./tool-plans.ts";

export type { ApprovalSettings, CompiledLimit, Evaluation, ToolPlan } from "./plan.ts";
export { describeLimit, policyNamed } from "./plan.ts";

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

export interface CompileOptions {
  /** Overrides DEFAULT_CPU_BUDGET_MS (tests, benchmarks). */
  readonly cpuBudgetMs?: number;
}

export function compilePolicy(loaded: LoadedPolicy, options: CompileOptions = {}): CompiledPolicy {
  const { spec } = loaded;
  const ctx = compileContext(loaded);
  const limits = createLimitCompiler(ctx);
  const checks = createCheckCompilers();
  const hide = compileHide(spec, ctx);
  const results = compileResultRules(spec, ctx);
  const allToolsLimits = compileAllToolsLimits(spec, limits);
  const rules = compileToolRules(spec, { ctx, hide, limits, checks, results: results.compiler });
  checkRateLimitStore(spec, ctx);
  const targetContext = {
    policyName: loaded.name,
    problem: ctx.problem,
    pointer: ctx.pointer,
    compileLimit: limits.compileLimit,
    compileArguments: checks.compileArguments,
  };
  const resources = compileTargets(spec, "resource", targetContext);
  const prompts = compileTargets(spec, "prompt", targetContext);
  if (ctx.problems.length > 0) throw new PolicyError(ctx.problems);

  const planFor = createToolPlans({
    policyName: loaded.name,
    spec,
    hide,
    rules,
    allToolsLimits,
    resultsOf: results.planOf,
    pointer: ctx.pointer,
  });
  return {
    name: loaded.name,
    format: loaded.format,
    generation: loaded.generation,
    digest: createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 12),
    mode: spec.mode,
    failMode: spec.rateLimit?.failMode ?? "closed",
    limitPartitioning: limits.hasGlobalCounter() ? "policy" : "grant",
    spec,
    strictArguments: spec.arguments === "strict" ? ctx.pointer(["arguments"]) : undefined,
    warnings: loaded.warnings,
    cpuBudgetMs: options.cpuBudgetMs ?? DEFAULT_CPU_BUDGET_MS,
    planFor,
    hasResultRules: results.allTools.length > 0 || (spec.tools ?? []).some((r) => r.results !== undefined),
    isHidden: hide.isHidden,
    namesTool: (tool) => rules.exact.has(tool) || hide.exact.has(tool),
    resources,
    prompts,
  };
}

/** Result rules and detectors (policy/results): allTools' rules apply to every tool's results. */
function compileResultRules(spec: McpPolicySpecType, ctx: CompileContext) {
  const compiler = createResultRulesCompiler(spec.detectors, ctx.problem, ctx.pointer);
  const allTools: ResultRulesAt[] = spec.allTools?.results
    ? [{ rules: spec.allTools.results, path: ["allTools", "results"] }]
    : [];
  for (const at of allTools) compiler.check(at);
  const planOf = (entries: readonly RuleEntry[]): ResultPlan | undefined =>
    compiler.planFor([
      ...allTools,
      ...entries.flatMap((e) =>
        e.rule.results ? [{ rules: e.rule.results, path: ["tools", e.index, "results"] }] : [],
      ),
    ]);
  return { compiler, allTools, planOf };
}

function compileAllToolsLimits(spec: McpPolicySpecType, limits: LimitCompiler): CompiledLimit[] {
  return (spec.allTools?.limits ?? []).flatMap(
    (limit, i) => limits.compileLimit(limit, ["allTools", "limits", i], `allTools/limits/${i}`) ?? [],
  );
}

/** A Redis store needs exactly one source for its URL; a URL in the policy must parse. */
function checkRateLimitStore(spec: McpPolicySpecType, ctx: CompileContext): void {
  const redis = spec.rateLimit?.redis;
  if (spec.rateLimit?.store === "redis") {
    if (redis?.url === undefined && redis?.secretRef === undefined) {
      ctx.problem(["rateLimit"], "store redis needs redis.url or redis.secretRef");
    } else if (redis.url !== undefined && redis.secretRef !== undefined) {
      ctx.problem(["rateLimit", "redis"], "set url or secretRef, not both");
    }
  }
  if (redis?.url !== undefined) {
    try {
      parseRedisUrl(redis.url);
    } catch (err) {
      ctx.problem(["rateLimit", "redis", "url"], (err as Error).message);
    }
  }
}
