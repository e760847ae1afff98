// Completes a decided request once its outcome is known, for tool calls and for resources/read and
// prompts/get alike: gives its rate-limit reservation back when the outcome refunds, observes its
// durations (tool calls) and writes its one audit line. The request path calls this as its last step:
// when the sidecar answered the request itself, when a held call ends without going upstream, and
// when the upstream's answer to a forwarded request is read (proxy/call-completion.ts).
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { CompiledPolicy } from "../../policy/compile.ts";
import { refundToolCall, reservationFor, type Admission } from "../../policy/decide.ts";
import type { ResultVerdict } from "../../policy/results/inspect.ts";
import type { RefundClass } from "../../policy/schema-refund.ts";
import { writeAudit } from "../observability/audit.ts";
import type { SidecarMetrics } from "../observability/metrics.ts";
import type { PolicyHolder } from "../policy-holder.ts";
import {
  storeKind,
  versionOf,
  type CallerContext,
  type DecidedCall,
  type DecidedTarget,
  type UpstreamOutcome,
} from "../tool-call.ts";

export interface CompletionDeps {
  holder: PolicyHolder;
  metrics: SidecarMetrics;
  audit: Logger;
  log: Logger;
}

export class CallCompletion {
  private readonly deps: CompletionDeps;

  constructor(deps: CompletionDeps) {
    this.deps = deps;
  }

  /** A tool call's refund, durations and audit line. Never throws. */
  async toolCall(
    call: DecidedCall,
    outcome: UpstreamOutcome,
    upstreamStatus?: number,
    results?: ResultVerdict,
  ): Promise<void> {
    const refunded = await this.refund(call, refundClassOf(outcome, upstreamStatus), call.request.tool);
    const seconds = (performance.now() - call.startedAt) / 1000;
    const policy = call.policy?.name ?? "_none";
    this.deps.metrics.observeToolCall({ policy, decision: call.verdict.decision }, seconds, call.traceId);
    // A client that went away says nothing about the upstream's latency.
    if (call.forward && outcome !== "cancelled")
      this.deps.metrics.observeUpstream(
        { policy, tool: call.toolLabel },
        (performance.now() - (call.forwardedAt ?? call.startedAt)) / 1000,
        call.traceId,
      );
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

  /** A resources/read's or prompts/get's refund and audit line. Never throws. */
  async targetRequest(decided: DecidedTarget, outcome: UpstreamOutcome, upstreamStatus?: number): Promise<void> {
    // Only a failure of the server gives a read's limits back: its refundOn classes are not consulted.
    const failure = refundClassOf(outcome, upstreamStatus) === "upstreamError" ? "upstreamError" : undefined;
    const refunded = await this.refund(decided, failure, decided.target);
    writeAudit(this.deps.audit, {
      kind: decided.kind,
      ...auditContext(decided.policy, decided.context),
      requestId: decided.id,
      tool: decided.target,
      verdict: decided.verdict,
      forwarded: decided.forward,
      arguments: decided.args,
      upstreamStatus,
      upstreamOutcome: outcome,
      refunded,
      durationSeconds: (performance.now() - decided.startedAt) / 1000,
    });
  }

  /**
   * Gives back the limits a forwarded request consumed when its failure refunds them; true when
   * they were given back. A store that fails the refund is counted and logged, never thrown.
   */
  private async refund(
    decided: { forward: boolean; admission: Admission | undefined; policy: CompiledPolicy | undefined },
    failure: RefundClass | undefined,
    name: string,
  ): Promise<boolean> {
    const store = this.deps.holder.store;
    if (!decided.forward || !decided.admission || !failure || !store || !reservationFor(decided.admission, failure))
      return false;
    try {
      return await refundToolCall(decided.admission, store, failure);
    } catch (err) {
      if (decided.policy) this.deps.metrics.rateLimitStoreErrors.inc({ store: storeKind(decided.policy.spec) });
      this.deps.log.warn({ err: (err as Error).message, tool: name }, "rate-limit refund failed");
      return false;
    }
  }
}

/** Failed calls give their rate-limit reservation back (the tool did not run, or not to the end). */
function refundable(outcome: UpstreamOutcome, httpStatus: number | undefined): boolean {
  if (outcome === "rpc_error" || outcome === "connection_error" || outcome === "input_required") return true;
  return outcome === "http_error" && httpStatus !== undefined && httpStatus >= 500;
}

/** Which `refundOn` class an outcome is, if any: the server failed the call, or the tool reported
 * that it failed (an isError result). Other outcomes are never refunded. */
export function refundClassOf(outcome: UpstreamOutcome, httpStatus: number | undefined): RefundClass | undefined {
  if (refundable(outcome, httpStatus)) return "upstreamError";
  return outcome === "tool_error" ? "toolError" : undefined;
}

/** Who decided and who called: the fields every audit line starts with, for tools and other targets alike. */
function auditContext(policy: CompiledPolicy | undefined, context: CallerContext) {
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
