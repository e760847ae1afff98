// Decides resources/read and prompts/get with the policy's `resources:` and `prompts:` blocks, and
// counts them in the requests_decided_total metric (bounded labels); their outcome is accounted for as
// a tool call's is (call-completion.ts: refunds when the upstream fails the request, one audit line).
// A policy without the block leaves the request undecided (it passes, as it always did).
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { admitToolCall } from "../../policy/decide.ts";
import { evaluateTarget } from "../../policy/decide-target.ts";
import type { TargetKind } from "../../policy/targets.ts";
import type { RequestId } from "../mcp/jsonrpc.ts";
import { UNKNOWN_TOOL, type SidecarMetrics } from "../observability/metrics.ts";
import type { PolicyHolder } from "../policy-holder.ts";
import { storeKind, type CallerContext, type DecidedTarget, type UpstreamOutcome, type Verdict } from "../tool-call.ts";
import { CallCompletion } from "./call-completion.ts";
import { TaskOwners } from "./task-owners.ts";

/** Names learnt from the upstream's resources/list and prompts/list answers (metric labels). */
export class KnownTargets {
  private readonly names: Record<TargetKind, Set<string>> = { resource: new Set(), prompt: new Set() };
  private static readonly LIMIT = 2048;

  learn(kind: TargetKind, names: readonly string[]): void {
    const set = this.names[kind];
    for (const n of names) if (set.size < KnownTargets.LIMIT && n.length <= 512) set.add(n);
  }

  has(kind: TargetKind, name: string): boolean {
    return this.names[kind].has(name);
  }
}

export interface TargetEnforcerDeps {
  holder: PolicyHolder;
  metrics: SidecarMetrics;
  audit: Logger;
  log: Logger;
  known: KnownTargets;
}

const NO_POLICY: Verdict = {
  decision: "denied",
  reason: "no_policy",
  rule: "(no policy)",
  message: "No policy is loaded in the mcp-warden sidecar yet, so this request is refused. Retry in a few seconds.",
};

export class TargetEnforcer {
  private readonly deps: TargetEnforcerDeps;
  /** Which caller created each task (tasks are bound to their creator). */
  readonly tasks = new TaskOwners();
  private readonly completion: CallCompletion;

  constructor(deps: TargetEnforcerDeps) {
    this.deps = deps;
    this.completion = new CallCompletion(deps);
  }

  get known(): KnownTargets {
    return this.deps.known;
  }

  /** The decision; undefined when the policy says nothing about this kind (the request passes uncounted). */
  async decide(
    kind: TargetKind,
    id: RequestId,
    target: string,
    args: Record<string, unknown>,
    context: CallerContext,
    startedAt = performance.now(),
  ): Promise<DecidedTarget | undefined> {
    const base = { kind, id, target, args, context, startedAt };
    const { current: policy, store } = this.deps.holder;
    if (!policy || !store)
      return this.account({ ...base, verdict: NO_POLICY, forward: false, policy, admission: undefined });
    const evaluation = evaluateTarget(policy, { kind, target, args, caller: context.caller });
    if (evaluation === undefined) return undefined;
    const call = { tool: target, args, caller: context.caller, session: context.session };
    const admission =
      evaluation.decision === "allowed" ? await admitToolCall(policy, call, evaluation, store) : stripPlan(evaluation);
    if (admission.reason === "store_unavailable")
      this.deps.metrics.rateLimitStoreErrors.inc({ store: storeKind(policy.spec) });
    const verdict: Verdict = {
      decision: admission.decision,
      reason: admission.reason,
      rule: admission.rule,
      message: admission.message,
      retryAfterSeconds: admission.retryAfterSeconds,
    };
    return this.account({
      ...base,
      verdict,
      forward: admission.decision === "allowed" || policy.mode === "Audit",
      policy,
      admission,
    });
  }

  /**
   * Requests that name resources or prompts without reading them: a subscription to resource updates
   * (resources/subscribe, subscriptions/listen) and argument completion (completion/complete, whose
   * `ref` names a prompt or a resource template) may only name what the caller may read; the first
   * target that is hidden or denied refuses the request (limits are not drawn on; reading it later is
   * decided again). Undefined: the request may go on.
   */
  refuseNaming(
    kind: TargetKind,
    targets: readonly string[],
    context: CallerContext,
    id: RequestId,
  ): DecidedTarget | undefined {
    const policy = this.deps.holder.current;
    const base = { kind, id, args: {}, context, startedAt: performance.now(), admission: undefined, forward: false };
    if (!policy) return this.account({ ...base, target: targets[0] ?? "", verdict: NO_POLICY, policy });
    for (const target of targets) {
      const evaluation = evaluateTarget(policy, { kind, target, args: {}, caller: context.caller });
      if (evaluation === undefined) return undefined;
      if (evaluation.decision === "allowed" || policy.mode === "Audit") continue;
      const verdict: Verdict = {
        decision: evaluation.decision,
        reason: evaluation.reason,
        rule: evaluation.rule,
        message: evaluation.message,
      };
      return this.account({ ...base, target, verdict, policy });
    }
    return undefined;
  }

  private account(decided: DecidedTarget): DecidedTarget {
    const block = decided.kind === "resource" ? decided.policy?.resources : decided.policy?.prompts;
    const name =
      block?.names(decided.target) || this.deps.known.has(decided.kind, decided.target) ? decided.target : UNKNOWN_TOOL;
    this.deps.metrics.requestsDecided.inc({
      policy: decided.policy?.name ?? "_none",
      kind: decided.kind,
      name,
      decision: decided.verdict.decision,
      reason: decided.verdict.reason,
      mode: decided.policy?.mode ?? "Enforce",
    });
    return decided;
  }

  /** Refund, audit line (call-completion.ts). Never throws. */
  complete(decided: DecidedTarget, outcome: UpstreamOutcome, upstreamStatus?: number): Promise<void> {
    return this.completion.targetRequest(decided, outcome, upstreamStatus);
  }
}

function stripPlan<T extends { plan?: unknown }>(e: T): Omit<T, "plan"> {
  const { plan: _plan, ...rest } = e;
  return rest;
}
