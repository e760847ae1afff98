// Decides tool calls and accounts for them: the policy decision (with rate limits), the
// tool_calls_total and duration metrics, refunds when the upstream fails a call, and one audit line
// per call once its outcome is known.
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { CompiledPolicy } from "../../policy/compile.ts";
import type { Decision, ToolCall } from "../../policy/decision.ts";
import { admitToolCall, evaluateToolCall, refundToolCall, reservationFor, type Admission, type Evaluation } from "../../policy/decide.ts";
import { writeAudit } from "../observability/audit.ts";
import type { ResultVerdict } from "../../policy/results/inspect.ts";
import { UNKNOWN_TOOL, type SidecarMetrics } from "../observability/metrics.ts";
import type { PolicyHolder } from "../policy-holder.ts";
import { storeKind, versionOf, type ApprovalRecord, type CallerContext, type DecidedCall, type ToolCallRequest, type UpstreamOutcome, type Verdict } from "../tool-call.ts";
import { refundClassOf } from "./refunds.ts";
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

  constructor(deps: EnforcerDeps) {
    this.deps = deps;
  }

  async decide(request: ToolCallRequest, context: CallerContext, startedAt = performance.now()): Promise<DecidedCall> {
    const policy = this.deps.holder.current;
    const store = this.deps.holder.store;
    if (!policy || !store) return this.account({ request, context, verdict: NO_POLICY, forward: false, policy, admission: undefined, startedAt });
    const pinned = await this.pinned(policy, request.tool);
    if (pinned) return this.account({ request, context, verdict: pinned, forward: false, policy, admission: undefined, startedAt });
    const toolCall = { tool: request.tool, args: request.args, caller: context.caller, session: context.session };
    const evaluation = await this.evaluate(policy, toolCall);
    if (evaluation.decision === "approval_required" && policy.mode === "Enforce" && evaluation.plan.approval) {
      // Not counted yet: the call is counted once, with the decision it ends with.
      return this.labelled({ request, context, verdict: verdictOf(evaluation), forward: false, policy, admission: undefined, startedAt, awaitingApproval: evaluation });
    }
    const storeStarted = performance.now();
    const admission = evaluation.decision === "allowed" ? await admitToolCall(policy, toolCall, evaluation, store) : withoutPlan(evaluation);
    const storeSeconds = evaluation.decision === "allowed" ? (performance.now() - storeStarted) / 1000 : undefined;
    if (admission.reason === "store_unavailable") this.deps.metrics.rateLimitStoreErrors.inc({ store: storeKind(policy.spec) });
    const forward = admission.decision === "allowed" || policy.mode === "Audit";
    return this.account({ request, context, verdict: verdictOf(admission), forward, policy, admission, startedAt, storeSeconds });
  }

  /**
   * The policy's evaluation. A strict policy's call to a tool whose schema is not known yet (the
   * sidecar's first listing still under way, or a tool the upstream gained since it last listed)
   * waits, for a bounded time, for a new listing, and is then decided on what it found.
   */
  private async evaluate(policy: CompiledPolicy, toolCall: ToolCall): Promise<Evaluation> {
    const known = this.deps.knownTools;
    const evaluation = evaluateToolCall(policy, toolCall, known.inputSchemas);
    if (evaluation.reason !== "input_schema_unknown" || known.inputSchemas.lookup(toolCall.tool) !== undefined) return evaluation;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([known.toolListChanged(), new Promise((resolve) => (timer = setTimeout(resolve, SCHEMA_WAIT_MS)))]);
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
    await Promise.race([this.deps.knownTools.toolListChanged(), new Promise((resolve) => (timer = setTimeout(resolve, SCHEMA_WAIT_MS)))]);
    clearTimeout(timer);
    return pinVerdict(policy, live, tool);
  }

  /** Consumes the limits of a call a person approved (not counted yet: see settleApproval). */
  async admitApproved(call: DecidedCall): Promise<Admission> {
    const { policy, awaitingApproval } = call;
    const store = this.deps.holder.store;
    if (!policy || !awaitingApproval || !store) return { decision: "denied", reason: "approval_required", rule: NO_POLICY.rule, message: NO_POLICY.message };
    const toolCall = { tool: call.request.tool, args: call.request.args, caller: call.context.caller, session: call.context.session };
    const admission = await admitToolCall(policy, toolCall, awaitingApproval, store);
    if (admission.reason === "store_unavailable") this.deps.metrics.rateLimitStoreErrors.inc({ store: storeKind(policy.spec) });
    return admission;
  }

  /** Ends the wait of a call held for approval with its final decision, and counts it (once). */
  settleApproval(call: DecidedCall, verdict: Verdict, options: { forward: boolean; admission?: Admission; record?: ApprovalRecord }): DecidedCall {
    // The upstream's latency is measured from here, not from the start of the person's decision.
    const forwardedAt = options.forward ? performance.now() : undefined;
    return this.account({ ...call, verdict, forward: options.forward, admission: options.admission, awaitingApproval: undefined, approval: options.record, forwardedAt });
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
  refuse(request: ToolCallRequest, context: CallerContext, message: string, startedAt = performance.now()): DecidedCall {
    const verdict: Verdict = { decision: "denied", reason: "invalid_tool_name", rule: "(invalid tool name)", message };
    return this.account({ request, context, verdict, forward: false, policy: this.deps.holder.current, admission: undefined, startedAt });
  }

  private labelled(call: Omit<DecidedCall, "toolLabel">): DecidedCall {
    const tool = call.verdict.reason === "invalid_tool_name" ? UNKNOWN_TOOL : toolLabel(call.request.tool, call.policy, this.deps.knownTools);
    return { ...call, toolLabel: tool };
  }

  private account(call: Omit<DecidedCall, "toolLabel">): DecidedCall {
    const labelled = this.labelled(call);
    const { policy, verdict } = labelled;
    this.deps.metrics.countToolCall({ policy: policy?.name ?? "_none", tool: labelled.toolLabel, decision: verdict.decision, reason: verdict.reason, mode: policy?.mode ?? "Enforce" });
    return labelled;
  }

  /** Records the outcome of a call: refund, duration, audit line. Never throws. */
  async complete(call: DecidedCall, outcome: UpstreamOutcome, upstreamStatus?: number, results?: ResultVerdict): Promise<void> {
    let refunded = false;
    const store = this.deps.holder.store;
    const failure = refundClassOf(outcome, upstreamStatus);
    if (call.forward && call.admission && failure && store && reservationFor(call.admission, failure)) {
      try {
        refunded = await refundToolCall(call.admission, store, failure);
      } catch (err) {
        if (call.policy) this.deps.metrics.rateLimitStoreErrors.inc({ store: storeKind(call.policy.spec) });
        this.deps.log.warn({ err: (err as Error).message, tool: call.request.tool }, "rate-limit refund failed");
      }
    }
    const seconds = (performance.now() - call.startedAt) / 1000;
    const policy = call.policy?.name ?? "_none";
    this.deps.metrics.observeToolCall({ policy, decision: call.verdict.decision }, seconds, call.traceId);
    // A client that went away says nothing about the upstream's latency.
    if (call.forward && outcome !== "cancelled") this.deps.metrics.observeUpstream({ policy, tool: call.toolLabel }, (performance.now() - (call.forwardedAt ?? call.startedAt)) / 1000, call.traceId);
    writeAudit(this.deps.audit, {
      ...auditContext(call.policy, call.context),
      requestId: call.request.id,
      tool: call.request.tool,
      verdict: call.verdict,
      forwarded: call.forward,
      arguments: call.request.args,
      upstreamStatus,
      upstreamOutcome: outcome,
      refunded,
      durationSeconds: seconds,
      approval: call.approval,
      results,
      traceId: call.traceId,
    });
  }
}

function verdictOf(d: Decision): Verdict {
  return { decision: d.decision, reason: d.reason, rule: d.rule, message: d.message, retryAfterSeconds: d.retryAfterSeconds };
}

function withoutPlan(evaluation: Evaluation): Decision {
  const { plan: _plan, ...decision } = evaluation;
  return decision;
}

/** Who decided and who called: the fields every audit line starts with, for tools and other targets alike. */
export function auditContext(policy: CompiledPolicy | undefined, context: CallerContext) {
  return {
    policy: policy?.name,
    policyVersion: policy ? versionOf(policy) : undefined,
    mode: policy?.mode,
    grant: context.caller.grant,
    sub: context.caller.sub,
    authMethod: context.authMethod,
    session: context.session,
  };
}
