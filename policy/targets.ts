// Resources and prompts under policy: the `resources:` and `prompts:` blocks compiled into plans of
// the same shape as tools' (terminal decision, checks, limits), so one engine decides every policed
// method. A rule names a resource URI or a prompt name exactly or by glob (a resource template counts as
// a glob of the URIs it expands to); an exact rule decides alone,
// otherwise the strictest matching glob does (hide > deny > allow); nothing matching: the block's default.
import type { ArgumentsCompileResult } from "./arguments-schema.ts";
import { compileTargetCel, type TargetActivation, type TargetKind, type TargetPredicate } from "./cel/target-cel.ts";
import { DEFAULT_ALLOW_RULE, DEFAULT_DENY_RULE, HIDDEN_RULE, type Decision } from "./decision.ts";
import { globMatches, isGlob } from "./glob.ts";
import type { DocPath } from "./paths.ts";
import { uniqueByCounter, type CompiledLimit, type ToolPlan } from "./plan.ts";
import { normalResourceUri } from "./resource-uri.ts";
import type { LimitSpec, McpPolicySpecType, PromptRuleSpec, ResourceRuleSpec } from "./schema.ts";

export type { TargetKind, TargetActivation };

/** A check of a resources or prompts rule: undefined when the request passes. */
export interface TargetCheck {
  readonly pointer: string;
  run(activation: TargetActivation): Decision | undefined;
}

export interface TargetPlan extends ToolPlan {
  readonly targetChecks: readonly TargetCheck[];
}

/** The compiled `resources:` or `prompts:` block. */
export interface TargetPolicy {
  readonly kind: TargetKind;
  planFor(target: string): TargetPlan;
  isHidden(target: string): boolean;
  /** Whether a rule names this target exactly (metric labels stay bounded by the policy). */
  names(target: string): boolean;
}

export interface TargetCompileContext {
  readonly policyName: string;
  problem(path: DocPath, message: string): void;
  pointer(path: DocPath): string;
  compileLimit(limit: LimitSpec, path: DocPath, privateName: string): CompiledLimit | undefined;
  compileArguments(schema: Record<string, unknown>): ArgumentsCompileResult;
}

type Rule = ResourceRuleSpec | PromptRuleSpec;
type Action = "allow" | "deny" | "hide";
const STRICTNESS: Record<Action, number> = { allow: 0, deny: 1, hide: 2 };
const CACHE_LIMIT = 4096;
const WORD: Record<TargetKind, string> = { resource: "Resource", prompt: "Prompt" };

interface Entry {
  readonly rule: Rule;
  readonly index: number;
  readonly checks: TargetCheck[];
  readonly limits: CompiledLimit[];
}

const patternOf = (rule: Rule): string => ("uri" in rule ? rule.uri : rule.name);
/** An RFC 6570 expression of a URI template (`{id}`, `{+path}`). */
const TEMPLATE_EXPRESSION = /\{[^{}]*\}/gu;
/**
 * What a rule matches: a resource rule written as a template (`kestra://flows/{id}`) also matches every
 * URI it expands to (each expression as `*`), so hiding a template hides reading through it.
 */
const matcherOf = (rule: Rule): string => ("uri" in rule ? rule.uri.replace(TEMPLATE_EXPRESSION, "*") : rule.name);

export function compileTargets(
  spec: McpPolicySpecType,
  kind: TargetKind,
  ctx: TargetCompileContext,
): TargetPolicy | undefined {
  const field = kind === "resource" ? "resources" : "prompts";
  const block = spec[field];
  if (block === undefined) return undefined;
  const exact = new Map<string, Entry>();
  const globs: Entry[] = [];
  (block.rules ?? []).forEach((rule: Rule, index) => {
    const base: DocPath = [field, "rules", index];
    const pattern = patternOf(rule);
    if (exact.has(pattern) || globs.some((g) => patternOf(g.rule) === pattern)) {
      ctx.problem(base, `duplicate rule for "${pattern}"`);
      return;
    }
    if (kind === "resource") {
      // Requests are decided in normal form (resource-uri.ts): a pattern in another form would never match.
      const normal = normalResourceUri(pattern);
      if (!normal.ok || normal.uri !== pattern)
        ctx.problem(
          [...base, "uri"],
          normal.ok
            ? `write the URI in normal form: "${normal.uri}"`
            : normal.problem.replace("the resource URI is refused", "no request can match it"),
        );
    }
    if (rule.action !== "allow") {
      for (const f of ["require", "denyIf", "limits", "arguments"] as const) {
        if ((rule as Record<string, unknown>)[f] !== undefined)
          ctx.problem([...base, f], `has no effect: the rule's action is ${rule.action}`);
      }
    }
    const checks = compileChecks(rule, kind, base, ctx);
    const limits = (rule.limits ?? []).flatMap(
      (limit, i) => ctx.compileLimit(limit, [...base, "limits", i], `${field}/${pattern}/limits/${i}`) ?? [],
    );
    const entry = { rule, index, checks, limits };
    if (isGlob(matcherOf(rule))) globs.push(entry);
    else exact.set(pattern, entry);
  });

  const plan = (
    terminal: Decision | undefined,
    checks: TargetCheck[],
    limits: CompiledLimit[],
    admitted: Decision,
  ): TargetPlan => {
    const p = { targetChecks: checks, checks: [], limits, approval: undefined } as unknown as {
      -readonly [K in keyof TargetPlan]: TargetPlan[K];
    };
    p.admitted = Object.freeze({ ...admitted, plan: p });
    p.terminal = terminal ? Object.freeze({ ...terminal, plan: p }) : undefined;
    return Object.freeze(p);
  };
  const terminal = (d: Decision) => plan(d, [], [], d);
  const hidden = terminal({ decision: "denied", reason: "hidden", message: "", rule: HIDDEN_RULE });
  const fromRules = (target: string, entries: Entry[]): TargetPlan => {
    const action = entries.reduce<Action>(
      (a, e) => (STRICTNESS[e.rule.action] > STRICTNESS[a] ? e.rule.action : a),
      "allow",
    );
    const winners = entries.filter((e) => e.rule.action === action);
    const first = winners[0] as Entry;
    const rule = ctx.pointer([field, "rules", first.index]);
    if (action === "hide") return hidden;
    if (action === "deny") {
      const message =
        first.rule.reason ??
        `${WORD[kind]} '${target}' is denied by policy ${ctx.policyName}. Do not retry it; ask an operator if you need it.`;
      return terminal({ decision: "denied", reason: "rule_denied", message, rule });
    }
    return plan(
      undefined,
      winners.flatMap((e) => e.checks),
      uniqueByCounter(winners.flatMap((e) => e.limits)),
      { decision: "allowed", reason: "rule_allowed", message: "", rule },
    );
  };
  const defaultPlan = (target: string): TargetPlan =>
    block.default === "allow"
      ? plan(undefined, [], [], { decision: "allowed", reason: "default_allow", message: "", rule: DEFAULT_ALLOW_RULE })
      : terminal({
          decision: "denied",
          reason: "default_deny",
          message: `${WORD[kind]} '${target}' is not allowed by policy ${ctx.policyName} (default deny). Do not retry it; ask an operator to allow it.`,
          rule: DEFAULT_DENY_RULE,
        });
  const resolve = (target: string): TargetPlan => {
    const direct = exact.get(target);
    if (direct) return fromRules(target, [direct]);
    const matching = globs.filter((g) => globMatches(matcherOf(g.rule), target));
    return matching.length > 0 ? fromRules(target, matching) : defaultPlan(target);
  };
  const cache = new Map<string, TargetPlan>();
  const planFor = (target: string): TargetPlan => {
    let found = cache.get(target);
    if (found) return found;
    found = resolve(target);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(target, found);
    return found;
  };
  return { kind, planFor, isHidden: (target) => planFor(target) === hidden, names: (target) => exact.has(target) };
}

function compileChecks(rule: Rule, kind: TargetKind, base: DocPath, ctx: TargetCompileContext): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const what = (a: TargetActivation) => (kind === "resource" ? `Read of '${a.uri}'` : `Prompt '${a.name}'`);
  if ("arguments" in rule && rule.arguments !== undefined) {
    const validator = ctx.compileArguments(rule.arguments);
    if ("problems" in validator)
      for (const p of validator.problems) ctx.problem([...base, "arguments", ...p.path], p.message);
    else {
      const pointer = ctx.pointer([...base, "arguments"]);
      checks.push({
        pointer,
        run: (a) => {
          const problem = validator(a.args);
          return problem === undefined
            ? undefined
            : {
                decision: "denied",
                reason: "invalid_arguments",
                message: rule.reason ?? `${what(a)} denied: arguments rejected by policy: ${problem}.`,
                rule: pointer,
              };
        },
      });
    }
  }
  for (const field of ["require", "denyIf"] as const) {
    (rule[field] ?? []).forEach((source, i) => {
      const compiled = compileTargetCel(source, kind);
      if (!compiled.ok) return ctx.problem([...base, field, i], compiled.problem);
      checks.push(celCheck(field, source, compiled.predicate, ctx.pointer([...base, field, i]), rule.reason, what));
    });
  }
  return checks;
}

function celCheck(
  field: "require" | "denyIf",
  source: string,
  predicate: TargetPredicate,
  pointer: string,
  reason: string | undefined,
  what: (a: TargetActivation) => string,
): TargetCheck {
  return {
    pointer,
    run: (a) => {
      const outcome = predicate(a);
      if (typeof outcome === "string") {
        return {
          decision: "denied",
          reason: "evaluation_error",
          message: `${what(a)} denied: the policy rule \`${source}\` could not be evaluated (${outcome}).`,
          rule: pointer,
        };
      }
      if (field === "require" && !outcome)
        return {
          decision: "denied",
          reason: "require_failed",
          message: reason ?? `${what(a)} denied: it must satisfy \`${source}\`.`,
          rule: pointer,
        };
      if (field === "denyIf" && outcome)
        return {
          decision: "denied",
          reason: "deny_if_matched",
          message: reason ?? `${what(a)} denied by policy because \`${source}\`.`,
          rule: pointer,
        };
      return undefined;
    },
  };
}
