// Deciding a tool call: `evaluateToolCall` applies the policy (pure and synchronous), then
// `admitToolCall` consumes the rate limits of an admitted call from the store. `decideToolCall`
// does both. Precedence: hide > deny > approve > allow; argument checks and limits apply after the
// tool itself is allowed.
import type { CelActivation } from "./cel/compile.ts";
import { cpuBudgetExceeded, startBudget } from "./cpu-budget.ts";
import { describeLimit, type CompiledLimit, type CompiledPolicy, type Evaluation, type ToolPlan } from "./compile.ts";

export type { Evaluation };
import type { Decision, ToolCall } from "./decision.ts";
import { checkDeclaredArguments, type DeclaredInputSchemas } from "./input-schemas.ts";
import type { LimitCheck, RateLimitStore, Reservation } from "./ratelimit/store.ts";
import type { RefundClass } from "./schema-refund.ts";

export interface Admission extends Decision {
  /** Set when limits that refund upstream failures were consumed; pass to `refundToolCall` if the
   * upstream fails the call (also what a call that is not forwarded after all gives back). */
  readonly reservation?: Reservation;
  /** The limits whose `refundOn` lists toolError: given back when the tool answers `isError: true`. */
  readonly toolErrorReservation?: Reservation;
}

/**
 * `declared` is the tools' declared input schemas, for a policy with `arguments: strict`: the sidecar
 * always passes what it learnt from the upstream (a tool it does not know is then denied). Offline
 * tools (`policy test`, `policy explain`) have no upstream and pass none; the policy's own rules are
 * then the only argument checks.
 */
export function evaluateToolCall(policy: CompiledPolicy, call: ToolCall, declared?: DeclaredInputSchemas): Evaluation {
  const plan = policy.planFor(call.tool);
  if (plan.terminal) return plan.terminal;
  // Before any rule: a rule must only ever see arguments of the types the tool declares.
  if (policy.strictArguments !== undefined && declared !== undefined) {
    const denial = checkDeclaredArguments(call, declared, policy.strictArguments);
    if (denial) return withPlan(denial, plan);
  }
  if (plan.checks.length > 0) {
    let activation: CelActivation | undefined;
    const lazyActivation = () => (activation ??= { args: call.args, tool: call.tool, caller: call.caller });
    const budget = startBudget(policy.cpuBudgetMs);
    for (const check of plan.checks) {
      const denial = check.run(call, lazyActivation);
      if (denial) return withPlan(denial, plan);
      // After each check: a slow check is not followed by more, and never admits (fail closed).
      const spent = budget.overrun();
      if (spent !== undefined) return withPlan(cpuBudgetExceeded(call, spent, policy.cpuBudgetMs, check.pointer), plan);
    }
  }
  return plan.admitted;
}

function withPlan(decision: Decision, plan: ToolPlan): Evaluation {
  return { ...decision, plan };
}

/**
 * Consumes every limit of an admitted call, all or nothing. A store failure fails closed
 * (`rate_limited`, reason `store_unavailable`) unless the policy chose `failMode: open`.
 */
export async function admitToolCall(
  policy: CompiledPolicy,
  call: ToolCall,
  evaluation: Evaluation,
  store: RateLimitStore,
): Promise<Admission> {
  const limits = evaluation.plan.limits;
  const admitted: Decision = { decision: "allowed", reason: evaluation.reason, message: "", rule: evaluation.rule };
  if (limits.length === 0) return admitted;
  const partition = policy.limitPartitioning === "grant" ? call.caller.grant : "";
  const checks = limits.map((limit): LimitCheck => ({
    key: limitKey(limit, call),
    windowMs: limit.windowMs,
    max: limit.max,
    partition,
  }));
  let result;
  try {
    result = await store.consume(checks);
  } catch (err) {
    if (policy.failMode === "open") return { ...admitted, reason: "store_unavailable" };
    return {
      decision: "rate_limited",
      reason: "store_unavailable",
      message: `The rate-limit store is unavailable, so '${call.tool}' cannot be counted and is refused (${describeError(err)}). Retry in a few seconds.`,
      rule: (limits[0] as CompiledLimit).pointer,
      retryAfterSeconds: 5,
    };
  }
  if (result.admitted) {
    const { keys, token } = result.reservation;
    const refundedOn = (failure: RefundClass): Reservation | undefined => {
      const refundable = keys.filter((_, i) => (limits[i] as CompiledLimit).refundOn.includes(failure));
      return refundable.length === 0 ? undefined : { keys: refundable, token };
    };
    const [reservation, toolErrorReservation] = [refundedOn("upstreamError"), refundedOn("toolError")];
    return { ...admitted, ...(reservation && { reservation }), ...(toolErrorReservation && { toolErrorReservation }) };
  }
  const limit = limits[result.blocked] as CompiledLimit;
  const retryAfterSeconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
  return {
    decision: "rate_limited",
    reason: "limit_exceeded",
    message:
      `Rate limit reached for '${call.tool}': at most ${describeLimit(limit)} (counter ${limit.counter}). ` +
      `Retry after ${retryAfterSeconds} second${retryAfterSeconds === 1 ? "" : "s"}.`,
    rule: limit.pointer,
    retryAfterSeconds,
  };
}

export async function decideToolCall(
  policy: CompiledPolicy,
  call: ToolCall,
  store: RateLimitStore,
  declared?: DeclaredInputSchemas,
): Promise<Admission> {
  const evaluation = evaluateToolCall(policy, call, declared);
  if (evaluation.decision !== "allowed") return stripPlan(evaluation);
  return admitToolCall(policy, call, evaluation, store);
}

/** The reservation a failure of this class gives back (the limits whose `refundOn` lists it). */
export function reservationFor(admission: Admission, failure: RefundClass): Reservation | undefined {
  return failure === "toolError" ? admission.toolErrorReservation : admission.reservation;
}

/** Gives back the limits of a failed call (those whose `refundOn` lists the failure's class). */
export async function refundToolCall(
  admission: Admission,
  store: RateLimitStore,
  failure: RefundClass = "upstreamError",
): Promise<boolean> {
  const reservation = reservationFor(admission, failure);
  if (!reservation) return false;
  await store.refund(reservation);
  return true;
}

function stripPlan(evaluation: Evaluation): Decision {
  const { plan: _plan, ...decision } = evaluation;
  return decision;
}

/** The budget a call draws on: the counter, per caller, per session or shared by all. */
export function limitKey(limit: CompiledLimit, call: ToolCall): string {
  switch (limit.scope) {
    case "grant":
      return `${limit.counter}|grant|${call.caller.grant}`;
    case "session":
      return call.session ? `${limit.counter}|session|${call.session}` : `${limit.counter}|grant|${call.caller.grant}`;
    case "global":
      return `${limit.counter}|global`;
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
