// A tool call an approve rule holds back. Alone in its POST, it waits for the decision (up to the
// rule's timeout) with its answer kept alive; approved, it is forwarded once and the upstream's answer
// relayed (on the held SSE stream when one was opened); otherwise the agent gets the decision. In a
// batch it cannot wait: it goes through if an approval already allows it, else gets [APPROVAL
// REQUIRED] naming the approval requested for it. An approval is used (recorded on the McpApproval,
// resourceVersion-checked) only after the call's rate limits admitted it, and only once.
import type { Admission } from "../../policy/decide.ts";
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import type { ApprovalOutcome, ApprovalRequest } from "../approvals/approvals.ts";
import { acceptsEventStream, HeldAnswer, progressTokenOf } from "../approvals/held-answer.ts";
import * as text from "../approvals/messages.ts";
import type { ApprovalRecord, DecidedCall, Verdict } from "../tool-call.ts";
import { decisionAnswer } from "./decision-answers.ts";
import type { RequestId } from "../mcp/jsonrpc.ts";
import { isModernMessage } from "../mcp/request-metadata.ts";
import type { Exchange, ProxyDeps } from "./exchange.ts";
import type { MessagePlan } from "./post-plan.ts";
import { sendJson } from "./downstream.ts";
import { approvalAttributes } from "../observability/request-spans.ts";

type Settled = { forward: true; call: DecidedCall } | { forward: false; call: DecidedCall; answer: Record<string, unknown> };

/** Holds a single tool call for approval and answers it; `forwardOnce` sends an approved call upstream. */
export async function holdToolCall(
  deps: ProxyDeps,
  ex: Exchange,
  plan: MessagePlan,
  forwardOnce: (call: DecidedCall, held: HeldAnswer) => Promise<void>,
): Promise<void> {
  const call = plan.call as DecidedCall;
  const message = plan.message as Extract<MessagePlan["message"], { kind: "request" }>;
  const settings = call.awaitingApproval?.plan.approval;
  if (!settings) throw new Error("holdToolCall: the call does not wait for approval");
  const modern = isModernMessage(ex.req.headers, message);
  const session = call.context.session;
  const grant = call.context.caller.grant;
  const streaming = acceptsEventStream(ex.req.headers.accept);
  const { approvals, clock } = deps.approvals;
  let waitingOn: string | undefined;
  const held = new HeldAnswer(ex.res, {
    clock,
    keepAliveMs: deps.approvals.keepAliveMs,
    streaming,
    progressToken: progressTokenOf(message.params),
    timeoutMs: settings.timeoutMs,
    describe: () => (waitingOn ? `waiting for approval ${approvals.namespace}/${waitingOn}` : "waiting for approval at the client"),
  });
  const registration = deps.approvals.held.add(session, grant, message.id);
  const gone = new AbortController();
  const onClose = () => {
    if (!ex.res.writableFinished) gone.abort();
  };
  ex.res.on("close", onClose);
  const signal = AbortSignal.any([registration.signal, gone.signal]);
  held.start();
  try {
    const canAsk = streaming && !modern && session !== undefined && deps.sessions.supportsElicitation(session);
    const request: ApprovalRequest = {
      policy: call.policy!,
      settings,
      tool: call.request.tool,
      args: call.request.args,
      grant,
      session,
      hold: true,
      elicit: canAsk ? { target: { session, grant }, send: (m) => held.send(m) } : undefined,
      signal,
      onApproval: (name) => (waitingOn = name),
    };
    const wait = ex.trace?.child("mcp_warden.approval.wait", "internal", { "gen_ai.tool.name": call.request.tool, "mcp_warden.approval.timeout_seconds": settings.timeoutMs / 1000 });
    const settled = await settle(deps, call, request, { id: message.id, modern });
    wait?.setAttributes(approvalAttributes(settled.call, settled.call.approval));
    wait?.end();
    held.stop();
    if (gone.signal.aborted || ex.res.destroyed) {
      deps.metrics.countRequest("tools/call", "answered");
      if (settled.forward) await deps.enforcer.release(settled.call.admission as Admission);
      void deps.enforcer.complete(settled.call, "cancelled");
      return;
    }
    if (settled.forward) return await forwardOnce(settled.call, held);
    deps.metrics.countRequest("tools/call", "answered");
    void deps.enforcer.complete(settled.call, "not_forwarded");
    const answer = settled.answer;
    if (held.opened) {
      await held.send(answer).catch(() => undefined);
      held.end();
    } else {
      sendJson(ex.res, 200, answer);
    }
  } finally {
    held.stop();
    registration.release();
    ex.res.off("close", onClose);
  }
}

/** Settles an approval-required element of a batch without waiting. */
export async function settleInBatch(deps: ProxyDeps, plan: MessagePlan, modern: boolean): Promise<MessagePlan> {
  const call = plan.call as DecidedCall;
  const message = plan.message as Extract<MessagePlan["message"], { kind: "request" }>;
  const request: ApprovalRequest = {
    policy: call.policy!,
    settings: call.awaitingApproval!.plan.approval!,
    tool: call.request.tool,
    args: call.request.args,
    grant: call.context.caller.grant,
    session: call.context.session,
    hold: false,
    signal: new AbortController().signal,
  };
  const settled = await settle(deps, call, request, { id: message.id, modern });
  if (settled.forward) return { ...plan, forward: true, call: settled.call, outcome: "forwarded" };
  void deps.enforcer.complete(settled.call, "not_forwarded");
  return { ...plan, forward: false, call: settled.call, answer: settled.answer, outcome: "answered" };
}

/** Decides (and counts) the call; an approval that is used is used here, after the limits admitted it. */
async function settle(deps: ProxyDeps, call: DecidedCall, request: ApprovalRequest, answer: { id: RequestId; modern: boolean }): Promise<Settled> {
  const { approvals } = deps.approvals;
  const { id, modern } = answer;
  const refuse = (verdict: Verdict, record?: ApprovalRecord, admission?: Admission): Settled => {
    const decided = deps.enforcer.settleApproval(call, verdict, { forward: false, ...(admission ? { admission } : {}), ...(record ? { record } : {}) });
    return { forward: false, call: decided, answer: decisionAnswer(id, call.request.tool, verdict, modern) };
  };
  const ns = approvals.namespace ?? "";
  for (let attempt = 0; ; attempt++) {
    const outcome = await approvals.decide(request);
    const record = recordOf(outcome, ns);
    const verdict = verdictFor(outcome, call, deps, request);
    if (outcome.kind !== "approved") return refuse(verdict, record);
    if (deps.holder.current?.generation !== call.policy?.generation || deps.holder.current?.name !== call.policy?.name) {
      return refuse({ ...verdict, decision: "approval_required", reason: "approval_required", message: text.staleMessage({ tool: call.request.tool }) }, record);
    }
    const admission = await deps.enforcer.admitApproved(call);
    if (admission.decision !== "allowed") {
      // Over a limit: the approval stays unused, for a retry once the limit allows.
      return refuse({ decision: admission.decision, reason: admission.reason, rule: admission.rule, message: admission.message, retryAfterSeconds: admission.retryAfterSeconds }, record, admission);
    }
    const used = outcome.approval ? await use(deps, outcome.approval, outcome.via, request) : { ok: true as const };
    if (used.ok) {
      const verdictAllowed: Verdict = { decision: "allowed", reason: "approved", rule: call.verdict.rule, message: "" };
      return { forward: true, call: deps.enforcer.settleApproval(call, verdictAllowed, { forward: true, admission, record }) };
    }
    await deps.enforcer.release(admission);
    deps.log.info({ approval: `${ns}/${outcome.approval?.metadata.name}`, why: used.why }, "approval could not be used");
    if (attempt >= 1 || !request.hold) {
      const name = `${ns}/${outcome.approval?.metadata.name ?? ""}`;
      return refuse({ decision: "approval_required", reason: "approval_required", rule: call.verdict.rule, message: text.usedElsewhereMessage({ tool: call.request.tool, approval: name }) }, record);
    }
    // Another call used it first: this one asks again, like any new call.
  }
}

async function use(deps: ProxyDeps, approval: McpApprovalObject, via: "Kubernetes" | "Elicitation", request: ApprovalRequest): Promise<{ ok: true } | { ok: false; why: string }> {
  const { approvals } = deps.approvals;
  const kubernetes = approvals.kubernetes;
  if (!kubernetes) return { ok: false, why: "no Kubernetes API" };
  const binding = approvals.binding(request);
  const usable = via === "Kubernetes" ? (a: McpApprovalObject) => approvals.unusable(a, binding, request.settings) : (a: McpApprovalObject) => approvals.unusableAfterElicitation(a, binding);
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
      return { name: outcome.approval ? `${namespace}/${outcome.approval.metadata.name}` : undefined, via: outcome.via, decidedBy: outcome.decidedBy };
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

function verdictFor(outcome: ApprovalOutcome, call: DecidedCall, deps: ProxyDeps, request: ApprovalRequest): Verdict {
  const tool = call.request.tool;
  const rule = call.verdict.rule;
  const ns = deps.approvals.approvals.namespace ?? "";
  switch (outcome.kind) {
    case "approved":
      return { decision: "allowed", reason: "approved", rule, message: "" };
    case "denied":
      return { decision: "denied", reason: "approval_denied", rule, message: text.deniedMessage({ tool, approval: outcome.approval, by: outcome.decidedBy, reason: outcome.reason }) };
    case "expired":
      return { decision: "denied", reason: "approval_expired", rule, message: text.expiredMessage({ tool, approval: outcome.approval }) };
    case "used":
      return { decision: "approval_required", reason: "approval_required", rule, message: text.usedElsewhereMessage({ tool, approval: outcome.approval }) };
    case "pending":
      return { decision: "approval_required", reason: "approval_required", rule, message: text.pendingMessage({ tool, namespace: ns, name: outcome.approval, waitedMs: outcome.waitedMs, ttlMs: request.settings.ttlMs, held: outcome.held }) };
    case "unanswered":
      return { decision: "approval_required", reason: "approval_required", rule, message: text.unansweredMessage({ tool, waitedMs: outcome.waitedMs }) };
    case "unavailable":
      return { decision: "approval_required", reason: "approval_unavailable", rule, message: text.unavailableMessage({ tool, why: outcome.why }) };
  }
}
