// What an approval decides for a tool call an approve rule holds back: the approvals' outcome turned
// into the call's verdict (the proxy writes the answer), or — approved — the call's limits admitted
// and the approval used. An approval is used (recorded on the McpApproval, resourceVersion-checked)
// only after the call's rate limits admitted it, and only once; a call that lost the race to use it
// asks again once (when it can wait).
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import type { Admission } from "../../policy/decide.ts";
import type { ApprovalRecord, DecidedCall, Verdict } from "../tool-call.ts";
import type { ApprovalOutcome, ApprovalRequest } from "./approval-request.ts";
import type { CallApprovalDeps } from "./call-approval-deps.ts";
import * as text from "./messages.ts";

/** The decided call: forwarded (its approval used, its limits admitted), or answered with `verdict`. */
export type HeldCallDecision =
  { forward: true; call: DecidedCall } | { forward: false; call: DecidedCall; verdict: Verdict };

/** Decides (and counts) the call; an approval that is used is used here, after the limits admitted it. */
export async function decideHeldCall(
  deps: CallApprovalDeps,
  call: DecidedCall,
  request: ApprovalRequest,
): Promise<HeldCallDecision> {
  const { approvals } = deps.approvalRuntime;
  const refuse = (verdict: Verdict, record?: ApprovalRecord, admission?: Admission): HeldCallDecision => {
    const decided = deps.enforcer.settleApproval(call, verdict, {
      forward: false,
      ...(admission ? { admission } : {}),
      ...(record ? { record } : {}),
    });
    return { forward: false, call: decided, verdict };
  };
  const ns = approvals.namespace ?? "";
  for (let attempt = 0; ; attempt++) {
    const outcome = await approvals.decide(request);
    const record = recordOf(outcome, ns);
    const verdict = verdictFor(outcome, call, ns, request);
    if (outcome.kind !== "approved") return refuse(verdict, record);
    if (
      deps.holder.current?.generation !== call.policy?.generation ||
      deps.holder.current?.name !== call.policy?.name
    ) {
      return refuse(
        {
          ...verdict,
          decision: "approval_required",
          reason: "approval_required",
          message: text.staleMessage({ tool: call.request.tool }),
        },
        record,
      );
    }
    const admission = await deps.enforcer.admitApproved(call);
    if (admission.decision !== "allowed") {
      // Over a limit: the approval stays unused, for a retry once the limit allows.
      return refuse(
        {
          decision: admission.decision,
          reason: admission.reason,
          rule: admission.rule,
          message: admission.message,
          retryAfterSeconds: admission.retryAfterSeconds,
        },
        record,
        admission,
      );
    }
    const used = outcome.approval ? await use(deps, outcome.approval, outcome.via, request) : { ok: true as const };
    if (used.ok) {
      const verdictAllowed: Verdict = { decision: "allowed", reason: "approved", rule: call.verdict.rule, message: "" };
      return {
        forward: true,
        call: deps.enforcer.settleApproval(call, verdictAllowed, { forward: true, admission, record }),
      };
    }
    await deps.enforcer.release(admission);
    deps.log.info(
      { approval: `${ns}/${outcome.approval?.metadata.name}`, why: used.why },
      "approval could not be used",
    );
    if (attempt >= 1 || !request.hold) {
      const name = `${ns}/${outcome.approval?.metadata.name ?? ""}`;
      return refuse(
        {
          decision: "approval_required",
          reason: "approval_required",
          rule: call.verdict.rule,
          message: text.usedElsewhereMessage({ tool: call.request.tool, approval: name }),
        },
        record,
      );
    }
    // Another call used it first: this one asks again, like any new call.
  }
}

async function use(
  deps: CallApprovalDeps,
  approval: McpApprovalObject,
  via: "Kubernetes" | "Elicitation",
  request: ApprovalRequest,
): Promise<{ ok: true } | { ok: false; why: string }> {
  const { approvals } = deps.approvalRuntime;
  const kubernetes = approvals.kubernetes;
  if (!kubernetes) return { ok: false, why: "no Kubernetes API" };
  const binding = approvals.binding(request);
  const usable =
    via === "Kubernetes"
      ? (a: McpApprovalObject) => approvals.unusable(a, binding, request.settings)
      : (a: McpApprovalObject) => approvals.unusableAfterElicitation(a, binding);
  try {
    const result = await kubernetes.consume(approval, via, usable);
    return result.ok ? { ok: true } : { ok: false, why: result.why };
  } catch (error) {
    return { ok: false, why: `the use cannot be recorded: ${(error as Error).message}` };
  }
}

function recordOf(outcome: ApprovalOutcome, namespace: string): ApprovalRecord | undefined {
  switch (outcome.kind) {
    case "approved":
      return {
        name: outcome.approval ? `${namespace}/${outcome.approval.metadata.name}` : undefined,
        via: outcome.via,
        decidedBy: outcome.decidedBy,
      };
    case "denied":
      return { name: outcome.approval, via: outcome.via, decidedBy: outcome.decidedBy };
    case "pending":
      return { name: `${namespace}/${outcome.approval}` };
    case "expired":
    case "used":
      return { name: outcome.approval };
    default:
      return undefined;
  }
}

function verdictFor(outcome: ApprovalOutcome, call: DecidedCall, ns: string, request: ApprovalRequest): Verdict {
  const tool = call.request.tool;
  const rule = call.verdict.rule;
  switch (outcome.kind) {
    case "approved":
      return { decision: "allowed", reason: "approved", rule, message: "" };
    case "denied":
      return {
        decision: "denied",
        reason: "approval_denied",
        rule,
        message: text.deniedMessage({
          tool,
          approval: outcome.approval,
          by: outcome.decidedBy,
          reason: outcome.reason,
        }),
      };
    case "expired":
      return {
        decision: "denied",
        reason: "approval_expired",
        rule,
        message: text.expiredMessage({ tool, approval: outcome.approval }),
      };
    case "used":
      return {
        decision: "approval_required",
        reason: "approval_required",
        rule,
        message: text.usedElsewhereMessage({ tool, approval: outcome.approval }),
      };
    case "pending":
      return {
        decision: "approval_required",
        reason: "approval_required",
        rule,
        message: text.pendingMessage({
          tool,
          namespace: ns,
          name: outcome.approval,
          waitedMs: outcome.waitedMs,
          ttlMs: request.settings.ttlMs,
          held: outcome.held,
        }),
      };
    case "unanswered":
      return {
        decision: "approval_required",
        reason: "approval_required",
        rule,
        message: text.unansweredMessage({ tool, waitedMs: outcome.waitedMs }),
      };
    case "unavailable":
      return {
        decision: "approval_required",
        reason: "approval_unavailable",
        rule,
        message: text.unavailableMessage({ tool, why: outcome.why }),
      };
  }
}

/** The approval request for a held call: bound to its policy, tool, arguments, caller and session. */
export function approvalRequestOf(
  call: DecidedCall,
  o: Pick<ApprovalRequest, "hold" | "signal" | "elicit" | "onApproval">,
): ApprovalRequest {
  const settings = call.awaitingApproval?.plan.approval;
  if (!settings || !call.policy) throw new Error("the call does not wait for approval");
  return {
    policy: call.policy,
    settings,
    tool: call.request.tool,
    args: call.request.args,
    grant: call.context.caller.grant,
    session: call.context.session,
    ...o,
  };
}
