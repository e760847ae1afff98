// Approval the 2026-07-28 way (ADR 0708), on the HTTP side: a call an approve rule holds, from a
// client of that revision, is answered with an InputRequiredResult, and its retry (carrying the
// client's answer and the signed requestState) is refused or forwarded. What the state and the
// McpApproval decide is approvals/input-required.ts; this carries the step out: the answer written,
// the call's verdict recorded and counted, an approved retry forwarded without the sidecar's state
// and answer.
import type { DecidedCall } from "../tool-call.ts";
import { decideInputApproval, inputRequiredResult } from "../approvals/input-required.ts";
import type { InputApprovalStep } from "../approvals/input-approval-step.ts";
import { APPROVAL_INPUT_KEY } from "../approvals/request-state.ts";
import { decisionAnswer } from "./decision-answers.ts";
import type { ClientMessage } from "../mcp/jsonrpc.ts";
import { isModernMessage } from "../mcp/request-metadata.ts";
import { HttpDownstream, sendJson } from "./downstream.ts";
import type { Exchange, ProxyDeps } from "./exchange.ts";
import { forward } from "./forward.ts";
import type { MessagePlan } from "./post-plan.ts";

type Request = Extract<ClientMessage, { kind: "request" }>;

/**
 * Whether this held call is approved through an InputRequiredResult round trip: every approval of a
 * 2026-07-28 request, except a Kubernetes-only one on a sidecar without Kubernetes (held as before).
 */
export function approvesThroughInput(deps: ProxyDeps, ex: Exchange, plan: MessagePlan): boolean {
  const via = plan.call?.awaitingApproval?.plan.approval?.via;
  if (via === undefined || !isModernMessage(ex.req.headers, plan.message)) return false;
  return via !== "kubernetes" || deps.approvalRuntime.approvals.kubernetes !== undefined;
}

export async function approveThroughInput(deps: ProxyDeps, ex: Exchange, plan: MessagePlan): Promise<void> {
  const call = plan.call as DecidedCall;
  const message = plan.message as Request;
  const params = (message.params ?? {}) as Record<string, unknown>;
  // A retry may wait for a person's decision: it stops waiting when the client goes away.
  const gone = new AbortController();
  const onClose = () => {
    if (!ex.res.writableFinished) gone.abort();
  };
  ex.res.on("close", onClose);
  try {
    const step = await decideInputApproval(deps, call, params, gone.signal);
    await carryOut(deps, ex, plan, step);
  } finally {
    ex.res.off("close", onClose);
  }
}

async function carryOut(deps: ProxyDeps, ex: Exchange, plan: MessagePlan, step: InputApprovalStep): Promise<void> {
  const call = plan.call as DecidedCall;
  const message = plan.message as Request;
  switch (step.kind) {
    case "ask": {
      const { result, record } = inputRequiredResult(deps, call, step);
      const settled = deps.enforcer.settleApproval(call, call.verdict, {
        forward: false,
        ...(record ? { record } : {}),
      });
      deps.metrics.countRequest("tools/call", "answered");
      void deps.enforcer.complete(settled, "input_required");
      return sendJson(ex.res, 200, { jsonrpc: "2.0", id: message.id, result });
    }
    case "refuse": {
      const settled = deps.enforcer.settleApproval(call, step.verdict, {
        forward: false,
        ...(step.record ? { record: step.record } : {}),
      });
      deps.metrics.countRequest("tools/call", "answered");
      void deps.enforcer.complete(settled, "not_forwarded");
      return sendJson(ex.res, 200, decisionAnswer(message.id, call.request.tool, step.verdict, true));
    }
    case "forward": {
      const approved = deps.enforcer.settleApproval(
        call,
        { decision: "allowed", reason: "approved", rule: call.verdict.rule, message: "" },
        { forward: true, admission: step.admission, record: step.record },
      );
      deps.metrics.countRequest("tools/call", "forwarded");
      const forwarded = {
        ...plan,
        message: withoutApproval(message),
        forward: true,
        call: approved,
        outcome: "forwarded" as const,
      };
      return forward(
        deps,
        ex,
        { plans: [forwarded], answers: [], batch: false, initialize: undefined },
        new HttpDownstream(ex.res, { batch: false, soleId: message.id }),
      );
    }
    case "gone":
      return;
  }
}

/** The retry as the upstream is to see it: without the sidecar's requestState and its answer. */
function withoutApproval(message: Request): Request {
  const params = { ...(message.params as Record<string, unknown>) };
  delete params.requestState;
  const responses = { ...(params.inputResponses as Record<string, unknown> | undefined) };
  delete responses[APPROVAL_INPUT_KEY];
  if (Object.keys(responses).length > 0) params.inputResponses = responses;
  else delete params.inputResponses;
  return { ...message, params, raw: { ...message.raw, params } };
}
