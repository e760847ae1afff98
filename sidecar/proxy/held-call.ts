// A tool call an approve rule holds back, on the HTTP side. Alone in its POST, it waits for the
// decision (up to the rule's timeout) with its answer kept alive (held-answer.ts); approved, it is
// forwarded once and the upstream's answer relayed (on the held SSE stream when one was opened);
// otherwise the agent gets the decision. In a batch it cannot wait: it goes through if an approval
// already allows it, else gets [APPROVAL REQUIRED] naming the approval requested for it. What the
// approval decides is approvals/held-call-decision.ts.
import type { Admission } from "../../policy/decide.ts";
import { approvalRequestOf, decideHeldCall } from "../approvals/held-call-decision.ts";
import { acceptsEventStream, HeldAnswer, progressTokenOf } from "./held-answer.ts";
import type { DecidedCall } from "../tool-call.ts";
import { decisionAnswer } from "./decision-answers.ts";
import { isModernMessage } from "../mcp/request-metadata.ts";
import type { Exchange, ProxyDeps } from "./exchange.ts";
import type { MessagePlan } from "./post-plan.ts";
import { sendJson } from "./downstream.ts";
import { approvalAttributes } from "../observability/request-spans.ts";

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
  const { approvals, clock } = deps.approvalRuntime;
  let waitingOn: string | undefined;
  const held = new HeldAnswer(ex.res, {
    clock,
    keepAliveMs: deps.approvalRuntime.keepAliveMs,
    streaming,
    progressToken: progressTokenOf(message.params),
    timeoutMs: settings.timeoutMs,
    describe: () =>
      waitingOn ? `waiting for approval ${approvals.namespace}/${waitingOn}` : "waiting for approval at the client",
  });
  const registration = deps.approvalRuntime.held.add(session, grant, message.id);
  const gone = new AbortController();
  const onClose = () => {
    if (!ex.res.writableFinished) gone.abort();
  };
  ex.res.on("close", onClose);
  const signal = AbortSignal.any([registration.signal, gone.signal]);
  held.start();
  try {
    const canAsk = streaming && !modern && session !== undefined && deps.sessions.supportsElicitation(session);
    const request = approvalRequestOf(call, {
      hold: true,
      elicit: canAsk ? { target: { session, grant }, send: (m) => held.send(m) } : undefined,
      signal,
      onApproval: (name) => (waitingOn = name),
    });
    const wait = ex.trace?.child("mcp_warden.approval.wait", "internal", {
      "gen_ai.tool.name": call.request.tool,
      "mcp_warden.approval.timeout_seconds": settings.timeoutMs / 1000,
    });
    const settled = await decideHeldCall(deps, call, request);
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
    const answer = decisionAnswer(message.id, call.request.tool, settled.verdict, modern);
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
  const request = approvalRequestOf(call, { hold: false, signal: new AbortController().signal });
  const settled = await decideHeldCall(deps, call, request);
  if (settled.forward) return { ...plan, forward: true, call: settled.call, outcome: "forwarded" };
  void deps.enforcer.complete(settled.call, "not_forwarded");
  const answer = decisionAnswer(message.id, call.request.tool, settled.verdict, modern);
  return { ...plan, forward: false, call: settled.call, answer, outcome: "answered" };
}
