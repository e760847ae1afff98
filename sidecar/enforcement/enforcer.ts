// Decides tool calls: the policy decision (with rate limits and pins), counted in tool_calls_total,
// and the end of an approval wait. A call's outcome is accounted for by call-completion.ts (refund,
// durations, audit line), shared with resources and prompts.
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { CompiledPolicy } from "../../policy/compile.ts";
import type { Decision, ToolCall } from "../../policy/decision.ts";
import {
  admitToolCall,
  evaluateToolCall,
  refundToolCall,
  type Admission,
  type Evaluation,
} from "../../policy/decide.ts";
import type { ResultVerdict } from "../../policy/results/inspect.ts";
import { UNKNOWN_TOOL, type SidecarMetrics } from "../observability/metrics.ts";
import type { PolicyHolder } from "../policy-holder.ts";
import {
  storeKind,
  type ApprovalRecord,
  type CallerContext,
  type DecidedCall,
  type ToolCallRequest,
  type UpstreamOutcome,
  type Verdict,
} from "../tool-call.ts";
import { CallCompletion } from "./call-completion.ts";
import { toolLabel, type KnownTools } from "./tool-names.ts";
import { pinVerdict } from "../pins/pin-check.ts";

export interface EnforcerDeps {
  holder: PolicyHolder;
  metrics: SidecarMetrics;
  audit: Logger;
  log: Logger;
  knownTools: KnownTools;
}

/** How long a strict call waits for a listing that may teach the sidecar its tool's schema. */
const SCHEMA_WAIT_MS = 3000;

const NO_POLICY: Verdict = {
  decision: "denied",
  reason: "no_policy",
  rule: "(no policy)",
  message: "No policy is loaded in the mcp-warden sidecar yet, so tool calls are refused. Retry in a few seconds.",
};

export class Enforcer {
  private readonly deps: EnforcerDeps;
  private readonly completion: CallCompletion;

  constructor(deps: EnforcerDeps) {
    this.deps = deps;
    this.completion = new CallCompletion(deps);
  }

  async decide(request: ToolCallRequest, context: CallerContext, startedAt = performance.now()): Promise<DecidedCall> {
    const policy = this.deps.holder.current;
    const store = this.deps.holder.store;
    if (!policy || !store)
      return this.account({
        request,
        context,
        verdict: NO_POLICY,
        forward: false,
        policy,
        admission: undefined,
        startedAt,
      });
    const pinned = await this.pinned(policy, request.tool);
    if (pinned)
      return this.account({
        request,
        context,
        verdict: pinned,
        forward: false,
        policy,
        admission: undefined,
        startedAt,
      });
    const toolCall = { tool: request.tool, args: request.args, caller: context.caller, session: context.session };
    const evaluation = await this.evaluate(policy, toolCall);
    if (evaluation.decision === "approval_required" && policy.mode === "Enforce" && evaluation.plan.approval) {
      // Not counted yet: the call is counted once, with the decision it ends with.
      return this.labelled({
        request,
        context,
        verdict: verdictOf(evaluation),
        forward: false,
        policy,
        admission: undefined,
        startedAt,
        awaitingApproval: evaluation,
      });
    }
    const storeStarted = performance.now();
    const admission =
      evaluation.decision === "allowed"
        ? await admitToolCall(policy, toolCall, evaluation, store)
        : withoutPlan(evaluation);
    const storeSeconds = evaluation.decision === "allowed" ? (performance.now() - storeStarted) / 1000 : undefined;
    if (admission.reason === "store_unavailable")
      this.deps.metrics.rateLimitStoreErrors.inc({ store: storeKind(policy.spec) });
    const forward = admission.decision === "allowed" || policy.mode === "Audit";
    return this.account({
      request,
      context,
      verdict: verdictOf(admission),
      forward,
      policy,
      admission,
      startedAt,
      storeSeconds,
    });
  }

  /**
   * The policy's evaluation. A strict policy's call to a tool whose schema is not known yet (the
   * sidecar's first listing still under way, or a tool the upstream gained since it last listed)
   * waits, for a bounded time, for a new listing, and is then decided on what it found.
   */
  private async evaluate(policy: CompiledPolicy, toolCall: ToolCall): Promise<Evaluation> {
    const known = this.deps.knownTools;
    const evaluation = evaluateToolCall(policy, toolCall, known.inputSchemas);
    if (evaluation.reason !== "input_schema_unknown" || known.inputSchemas.lookup(toolCall.tool) !== undefined)
      return evaluation;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      known.toolListChanged(),
      new Promise((resolve) => (timer = setTimeout(resolve, SCHEMA_WAIT_MS))),
    ]);
    clearTimeout(timer);
    return evaluateToolCall(policy, toolCall, known.inputSchemas);
  }

  /**
   * The pins' denial of a call, before any rule (ADR 0132). A pinned tool whose definition the sidecar
   * has not seen yet waits, for a bounded time, for a listing, as strict argument checks do.
   */
  private async pinned(policy: CompiledPolicy, tool: string): Promise<Verdict | undefined> {
    const live = this.deps.knownTools.definitions;
    const verdict = pinVerdict(policy, live, tool);
    if (verdict?.reason !== "definition_unknown") return verdict;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.deps.knownTools.toolListChanged(),
      new Promise((resolve) => (timer = setTimeout(resolve, SCHEMA_WAIT_MS))),
    ]);
    clearTimeout(timer);
    return pinVerdict(policy, live, tool);
  }

  /** Consumes the limits of a call a person approved (not counted yet: see settleApproval). */
  async admitApproved(call: DecidedCall): Promise<Admission> {
    const { policy, awaitingApproval } = call;
    const store = this.deps.holder.store;
    if (!policy || !awaitingApproval || !store)
      return { decision: "denied", reason: "approval_required", rule: NO_POLICY.rule, message: NO_POLICY.message };
    const toolCall = {
      tool: call.request.tool,
      args: call.request.args,
      caller: call.context.caller,
      session: call.context.session,
    };
    const admission = await admitToolCall(policy, toolCall, awaitingApproval, store);
    if (admission.reason === "store_unavailable")
      this.deps.metrics.rateLimitStoreErrors.inc({ store: storeKind(policy.spec) });
    return admission;
  }

  /** Ends the wait of a call held for approval with its final decision, and counts it (once). */
  settleApproval(
    call: DecidedCall,
    verdict: Verdict,
    options: { forward: boolean; admission?: Admission; record?: ApprovalRecord },
  ): DecidedCall {
    // The upstream's latency is measured from here, not from the start of the person's decision.
    const forwardedAt = options.forward ? performance.now() : undefined;
    return this.account({
      ...call,
      verdict,
      forward: options.forward,
      admission: options.admission,
      awaitingApproval: undefined,
      approval: options.record,
      forwardedAt,
    });
  }

  /** Gives back limits consumed for a call that is not forwarded after all. */
  async release(admission: Admission): Promise<void> {
    const store = this.deps.holder.store;
    if (!admission.reservation || !store) return;
    try {
      await refundToolCall(admission, store);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, "rate-limit refund failed");
    }
  }

  /** A call refused before evaluation because its name is not a tool name. */
  refuse(
    request: ToolCallRequest,
    context: CallerContext,
    message: string,
    startedAt = performance.now(),
  ): DecidedCall {
    const verdict: Verdict = { decision: "denied", reason: "invalid_tool_name", rule: "(invalid tool name)", message };
    return this.account({
      request,
      context,
      verdict,
      forward: false,
      policy: this.deps.holder.current,
      admission: undefined,
      startedAt,
    });
  }

  private labelled(call: Omit<DecidedCall, "toolLabel">): DecidedCall {
    const tool =
      call.verdict.reason === "invalid_tool_name"
        ? UNKNOWN_TOOL
        : toolLabel(call.request.tool, call.policy, this.deps.knownTools);
    return { ...call, toolLabel: tool };
  }

  private account(call: Omit<DecidedCall, "toolLabel">): DecidedCall {
    const labelled = this.labelled(call);
    const { policy, verdict } = labelled;
    this.deps.metrics.countToolCall({
      policy: policy?.name ?? "_none",
      tool: labelled.toolLabel,
      decision: verdict.decision,
      reason: verdict.reason,
      mode: policy?.mode ?? "Enforce",
    });
    return labelled;
  }

  /** Records the outcome of a call: refund, durations, audit line (call-completion.ts). Never throws. */
  complete(
    call: DecidedCall,
    outcome: UpstreamOutcome,
    upstreamStatus?: number,
    results?: ResultVerdict,
  ): Promise<void> {
    return this.completion.toolCall(call, outcome, upstreamStatus, results);
  }
}

function verdictOf(d: Decision): Verdict {
  return {
    decision: d.decision,
    reason: d.reason,
    rule: d.rule,
    message: d.message,
    retryAfterSeconds: d.retryAfterSeconds,
  };
}

function withoutPlan(evaluation: Evaluation): Decision {
  const { plan: _plan, ...decision } = evaluation;
  return decision;
}
