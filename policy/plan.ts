// What a compiled policy decides with: per-tool plans (a terminal decision, or checks, limits and the
// decision once they pass) and the compiled limits they consume. Tools, resources and prompts share
// these shapes (policy/compile.ts, policy/targets.ts), so one engine decides every policed method.
import type { Decision } from "./decision.ts";
import { describeWindow } from "./duration.ts";
import type { CompiledCheck } from "./checks.ts";
import type { ResultPlan } from "./results/rules.ts";
import type { RefundClass } from "./schema-refund.ts";

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
export function makePlan(parts: {
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

/** A plan that gives every call the same decision. */
export function terminalPlan(decision: Decision): ToolPlan {
  return makePlan({ terminal: decision, checks: [], limits: [], admitted: decision });
}

/** The limits with each counter once (the first definition wins; they are all the same, see compile-limits.ts). */
export function uniqueByCounter(limits: readonly CompiledLimit[]): CompiledLimit[] {
  const seen = new Set<string>();
  return limits.filter((l) => (seen.has(l.counter) ? false : (seen.add(l.counter), true)));
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
