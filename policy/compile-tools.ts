// The `hide` list and the `tools` rules compiled: each rule's checks (argument schema, `require`,
// `denyIf`), limits and result rules, keyed by exact name or kept as globs in policy order. The
// expression and schema compilers are made on first use, so a policy that only names tools loads
// neither CEL nor Ajv (policy/libraries.ts).
import { createArgumentsCompiler, type ArgumentsCompileResult } from "./arguments-schema.ts";
import { compileCel, type CompiledCel } from "./cel/compile.ts";
import { buildCheck, type CompiledCheck } from "./checks.ts";
import type { CompileContext } from "./compile-context.ts";
import type { LimitCompiler } from "./compile-limits.ts";
import { parseDuration } from "./duration.ts";
import { globMatches, isGlob } from "./glob.ts";
import type { DocPath } from "./paths.ts";
import type { CompiledLimit } from "./plan.ts";
import type { ResultRulesCompiler } from "./results/rules.ts";
import type { McpPolicySpecType, ToolRuleSpec } from "./schema.ts";

/** The compiled `hide` list: exact names and globs. */
export interface HideList {
  readonly exact: ReadonlySet<string>;
  readonly isHidden: (tool: string) => boolean;
}

export interface RuleEntry {
  readonly rule: ToolRuleSpec;
  readonly index: number;
  readonly checks: CompiledCheck[];
  readonly limits: CompiledLimit[];
}

/** The compiled `tools` rules: by exact name, and the glob rules in policy order. */
export interface ToolRules {
  readonly exact: ReadonlyMap<string, RuleEntry>;
  readonly globs: readonly { readonly pattern: string; readonly entry: RuleEntry }[];
}

/** Compiles argument schemas (Ajv) and expressions (CEL), each made on first use. */
export interface CheckCompilers {
  readonly compileArguments: (schema: Record<string, unknown>) => ArgumentsCompileResult;
  readonly compileExpression: (source: string) => CompiledCel;
}

export function createCheckCompilers(): CheckCompilers {
  let compileArguments: ReturnType<typeof createArgumentsCompiler> | undefined;
  // Predicates are pure, so one compiled predicate serves every rule with the same source text.
  const expressions = new Map<string, CompiledCel>();
  return {
    compileArguments: (schema) => (compileArguments ??= createArgumentsCompiler())(schema),
    compileExpression: (source) => {
      let compiled = expressions.get(source);
      if (compiled === undefined) expressions.set(source, (compiled = compileCel(source)));
      return compiled;
    },
  };
}

export function compileHide(spec: McpPolicySpecType, ctx: CompileContext): HideList {
  const exact = new Set<string>();
  const globs: string[] = [];
  (spec.hide ?? []).forEach((name, i) => {
    if (exact.has(name) || globs.includes(name)) ctx.problem(["hide", i], `duplicate entry "${name}"`);
    if (isGlob(name)) globs.push(name);
    else exact.add(name);
  });
  return { exact, isHidden: (tool) => exact.has(tool) || globs.some((g) => globMatches(g, tool)) };
}

export interface ToolRuleCompilers {
  readonly ctx: CompileContext;
  readonly hide: HideList;
  readonly limits: LimitCompiler;
  readonly checks: CheckCompilers;
  readonly results: ResultRulesCompiler;
}

export function compileToolRules(spec: McpPolicySpecType, compilers: ToolRuleCompilers): ToolRules {
  const exact = new Map<string, RuleEntry>();
  const globs: { pattern: string; entry: RuleEntry }[] = [];
  (spec.tools ?? []).forEach((rule, index) => {
    const earlier = exact.get(rule.name) ?? globs.find((g) => g.pattern === rule.name)?.entry;
    if (earlier) {
      compilers.ctx.problem(
        ["tools", index, "name"],
        `duplicate rule for "${rule.name}" (first at ${compilers.ctx.describe(["tools", earlier.index])})`,
      );
      return;
    }
    const entry = compileToolRule(rule, index, compilers);
    if (isGlob(rule.name)) globs.push({ pattern: rule.name, entry });
    else exact.set(rule.name, entry);
  });
  return { exact, globs };
}

function compileToolRule(rule: ToolRuleSpec, index: number, compilers: ToolRuleCompilers): RuleEntry {
  const base: DocPath = ["tools", index];
  checkRuleFields(rule, base, compilers);
  const checks = compileToolChecks(rule, base, compilers.ctx, compilers.checks);
  const limits = (rule.limits ?? []).flatMap(
    (limit, i) => compilers.limits.compileLimit(limit, [...base, "limits", i], `${rule.name}/limits/${i}`) ?? [],
  );
  if (rule.results) compilers.results.check({ rules: rule.results, path: [...base, "results"] });
  for (const kind of ["timeout", "ttl"] as const) {
    const text = rule.approval?.[kind];
    if (text !== undefined && parseDuration(text) === undefined)
      compilers.ctx.problem([...base, "approval", kind], `invalid duration "${text}"`);
  }
  return { rule, index, checks, limits };
}

/** Fields that cannot take effect: on a deny rule, approval settings without approve, a hidden name. */
function checkRuleFields(rule: ToolRuleSpec, base: DocPath, { ctx, hide }: ToolRuleCompilers): void {
  if (rule.action === "deny") {
    for (const field of ["require", "denyIf", "arguments", "limits", "approval", "results"] as const) {
      if (rule[field] !== undefined) ctx.problem([...base, field], `has no effect: the rule's action is deny`);
    }
  }
  if (rule.approval !== undefined && rule.action !== "approve") {
    ctx.problem([...base, "approval"], `only applies to rules whose action is approve`);
  }
  if (rule.action !== "deny" && !isGlob(rule.name) && hide.isHidden(rule.name)) {
    ctx.problem([...base, "name"], `"${rule.name}" is hidden by hide, which takes precedence: this rule never applies`);
  }
}

/** The rule's argument schema, then its `require` and `denyIf` expressions, in that order. */
function compileToolChecks(
  rule: ToolRuleSpec,
  base: DocPath,
  ctx: CompileContext,
  compilers: CheckCompilers,
): CompiledCheck[] {
  const checks: CompiledCheck[] = [];
  if (rule.arguments) {
    const validator = compilers.compileArguments(rule.arguments);
    if ("problems" in validator)
      for (const p of validator.problems) ctx.problem([...base, "arguments", ...p.path], p.message);
    else
      checks.push(
        buildCheck({ kind: "arguments", pointer: ctx.pointer([...base, "arguments"]), validator, reason: rule.reason }),
      );
  }
  for (const kind of ["require", "denyIf"] as const) {
    (rule[kind] ?? []).forEach((source, i) => {
      const compiled = compilers.compileExpression(source);
      if (!compiled.ok) ctx.problem([...base, kind, i], compiled.problem);
      else
        checks.push(
          buildCheck({
            kind,
            pointer: ctx.pointer([...base, kind, i]),
            source,
            predicate: compiled.predicate,
            reason: rule.reason,
          }),
        );
    });
  }
  return checks;
}
