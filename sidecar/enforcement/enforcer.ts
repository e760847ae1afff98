// Decides tool calls and accounts for them: the policy decision (with rate limits), the
// tool_calls_total and duration metrics, refunds when the upstream fails a call, and one audit line
// per call once its outcome is known.
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { CompiledPolicy } from "../../policy/compile.ts";
import type { CelCaller } from "../../policy/cel/environment.ts";
import { decideToolCall, refundToolCall, type Admission } from "../../policy/decide.ts";
import type { RequestId } from "../mcp/jsonrpc.ts";
import { writeAudit } from "../observability/audit.ts";
import { UNKNOWN_TOOL, type SidecarMetrics } from "../observability/metrics.ts";
import { versionOf, type PolicyHolder } from "../policy-holder.ts";
import { storeKind } from "../rate-limit-store.ts";
import { refundable, type UpstreamOutcome, type Verdict } from "./outcome.ts";
import { toolLabel, type KnownTools } from "./tool-names.ts";

export interface CallerContext {
  readonly caller: CelCaller;
  /** How the caller authenticated: api_key, jwt, kubernetes, anonymous. */
  readonly authMethod: string;
  /** The MCP session the call belongs to (bound to this caller), if any. */
  readonly session: string | undefined;
}

export interface ToolCallRequest {
  readonly id: RequestId;
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

export interface DecidedCall {
  readonly request: ToolCallRequest;
  readonly context: CallerContext;
  readonly verdict: Verdict;
  /** Whether the call goes to the upstream: when allowed, and in Audit mode always. */
  readonly forward: boolean;
  readonly policy: CompiledPolicy | undefined;
  readonly admission: Admission | undefined;
  readonly startedAt: number;
  /** The tool's metric label (`_unknown` for names neither the policy nor the upstream knows). */
  readonly toolLabel: string;
}

export interface EnforcerDeps {
  holder: PolicyHolder;
  metrics: SidecarMetrics;
  audit: Logger;
  log: Logger;
  knownTools: KnownTools;
}

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
    const admission = await decideToolCall(policy, { tool: request.tool, args: request.args, caller: context.caller, session: context.session }, store);
    if (admission.reason === "store_unavailable") this.deps.metrics.rateLimitStoreErrors.inc({ store: storeKind(policy.spec) });
    const verdict: Verdict = {
      decision: admission.decision,
      reason: admission.reason,
      rule: admission.rule,
      message: admission.message,
      retryAfterSeconds: admission.retryAfterSeconds,
    };
    const forward = admission.decision === "allowed" || policy.mode === "Audit";
    return this.account({ request, context, verdict, forward, policy, admission, startedAt });
  }

  /** A call refused before evaluation because its name is not a tool name. */
  refuse(request: ToolCallRequest, context: CallerContext, message: string, startedAt = performance.now()): DecidedCall {
    const verdict: Verdict = { decision: "denied", reason: "invalid_tool_name", rule: "(invalid tool name)", message };
    return this.account({ request, context, verdict, forward: false, policy: this.deps.holder.current, admission: undefined, startedAt });
  }

  private account(call: Omit<DecidedCall, "toolLabel">): DecidedCall {
    const { policy, verdict } = call;
    const tool = verdict.reason === "invalid_tool_name" ? UNKNOWN_TOOL : toolLabel(call.request.tool, policy, this.deps.knownTools);
    this.deps.metrics.countToolCall({ policy: policy?.name ?? "_none", tool, decision: verdict.decision, reason: verdict.reason, mode: policy?.mode ?? "Enforce" });
    return { ...call, toolLabel: tool };
  }

  /** Records the outcome of a call: refund, duration, audit line. Never throws. */
  async complete(call: DecidedCall, outcome: UpstreamOutcome, upstreamStatus?: number): Promise<void> {
    let refunded = false;
    const store = this.deps.holder.store;
    if (call.forward && call.admission?.reservation && store && refundable(outcome, upstreamStatus)) {
      try {
        await refundToolCall(call.admission, store);
        refunded = true;
      } catch (err) {
        if (call.policy) this.deps.metrics.rateLimitStoreErrors.inc({ store: storeKind(call.policy.spec) });
        this.deps.log.warn({ err: (err as Error).message, tool: call.request.tool }, "rate-limit refund failed");
      }
    }
    const seconds = (performance.now() - call.startedAt) / 1000;
    const policy = call.policy?.name ?? "_none";
    this.deps.metrics.toolCallDuration.observe({ policy, decision: call.verdict.decision }, seconds);
    // A client that went away says nothing about the upstream's latency.
    if (call.forward && outcome !== "cancelled") this.deps.metrics.upstreamDuration.observe({ policy, tool: call.toolLabel }, seconds);
    writeAudit(this.deps.audit, {
      policy: call.policy?.name,
      policyVersion: call.policy ? versionOf(call.policy) : undefined,
      mode: call.policy?.mode,
      grant: call.context.caller.grant,
      sub: call.context.caller.sub,
      authMethod: call.context.authMethod,
      session: call.context.session,
      requestId: call.request.id,
      tool: call.request.tool,
      verdict: call.verdict,
      forwarded: call.forward,
      arguments: call.request.args,
      upstreamStatus,
      upstreamOutcome: outcome,
      refunded,
      durationSeconds: seconds,
    });
  }
}
