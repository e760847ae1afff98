// Approval the 2026-07-28 way (ADR 0708): a call an approve rule holds, from a client of that revision,
// is answered with an InputRequiredResult (the approval question as an embedded elicitation, and a
// requestState the sidecar signs and binds to caller, policy, tool, argument digest and expiry). The
// client retries the call with its answer in inputResponses and the state; the retry is decided
// against that state: forged, edited (other tool or arguments), another caller's, expired or replayed
// states are refused. Approved, the retry goes upstream without the sidecar's state and answer.
import { argumentsPreview } from "../../policy/approval/preview.ts";
import { approvalQuestion } from "../approvals/elicitation.ts";
import { APPROVAL_INPUT_KEY, STATE_PREFIX, type StateBinding } from "../approvals/request-state.ts";
import type { DecidedCall } from "../enforcement/enforcer.ts";
import type { Verdict } from "../enforcement/outcome.ts";
import { decisionAnswer } from "../mcp/answers.ts";
import type { ClientMessage } from "../mcp/jsonrpc.ts";
import { isModernMessage } from "../mcp/request-metadata.ts";
import { HttpDownstream, sendJson } from "./downstream.ts";
import type { Exchange, ProxyDeps } from "./exchange.ts";
import { forward } from "./forward.ts";
import type { MessagePlan } from "./post-plan.ts";

type Request = Extract<ClientMessage, { kind: "request" }>;

/** Whether this held call is approved through an InputRequiredResult round trip. */
export function approvesThroughInput(ex: Exchange, plan: MessagePlan): boolean {
  const via = plan.call?.awaitingApproval?.plan.approval?.via;
  return via !== undefined && via !== "kubernetes" && isModernMessage(ex.req.headers, plan.message);
}

export async function approveThroughInput(deps: ProxyDeps, ex: Exchange, plan: MessagePlan): Promise<void> {
  const call = plan.call as DecidedCall;
  const message = plan.message as Request;
  const params = (message.params ?? {}) as Record<string, unknown>;
  const settings = call.awaitingApproval?.plan.approval;
  if (!settings || !call.policy) throw new Error("approveThroughInput: the call does not wait for approval");
  const binding: StateBinding = { policy: call.policy.name, grant: call.context.caller.grant, tool: call.request.tool, args: call.request.args };
  const state = params.requestState;
  const rule = call.verdict.rule;
  const refuse = (verdict: Omit<Verdict, "rule">) => answer(deps, ex, call, message, { ...verdict, rule }, "not_forwarded");

  if (typeof state !== "string" || !state.startsWith(STATE_PREFIX)) {
    const question = approvalQuestion(call.request.tool, call.policy.name, argumentsPreview(call.request.args));
    const result = {
      resultType: "input_required",
      inputRequests: { [APPROVAL_INPUT_KEY]: { method: "elicitation/create", params: { mode: "form", ...question } } },
      requestState: deps.approvals.requestStates.sign(binding, settings.ttlMs),
    };
    const settled = deps.enforcer.settleApproval(call, call.verdict, { forward: false });
    deps.metrics.countRequest("tools/call", "answered");
    void deps.enforcer.complete(settled, "input_required");
    return sendJson(ex.res, 200, { jsonrpc: "2.0", id: message.id, result });
  }
  const reply = (params.inputResponses as Record<string, unknown> | undefined)?.[APPROVAL_INPUT_KEY] as { action?: unknown; content?: Record<string, unknown> } | undefined;
  const check = deps.approvals.requestStates.redeem(state, binding);
  if (!check.ok) {
    return refuse({ decision: "denied", reason: "approval_denied", message: `The approval state of this call is refused: ${check.problem}. Call '${call.request.tool}' again without requestState to be asked anew.` });
  }
  // Single use across replicas: the state's nonce is consumed once in the policy's rate-limit store
  // (shared by every replica with the Redis store); a store that cannot say refuses (fail closed).
  if (!(await consumeOnce(deps, check.nonce, check.expiresAt, binding.grant))) {
    return refuse({ decision: "denied", reason: "approval_denied", message: `The approval state of this call is refused: it has already been used (or cannot be checked right now). Call '${call.request.tool}' again without requestState to be asked anew.` });
  }
  if (reply?.action !== "accept" || reply.content?.approve !== true) {
    const why = typeof reply?.content?.reason === "string" ? ` (${reply.content.reason})` : "";
    return refuse({ decision: "denied", reason: "approval_denied", message: `The person at the client did not approve this call to '${call.request.tool}'${why}. Do not retry it unchanged.` });
  }
  const admission = await deps.enforcer.admitApproved(call);
  if (admission.decision !== "allowed") return refuse({ decision: admission.decision, reason: admission.reason, message: admission.message, retryAfterSeconds: admission.retryAfterSeconds });
  const approved = deps.enforcer.settleApproval(call, { decision: "allowed", reason: "approved", rule, message: "" }, { forward: true, admission, record: { via: "Elicitation", decidedBy: `${binding.grant} (at the client)` } });
  deps.metrics.countRequest("tools/call", "forwarded");
  const forwarded = { ...plan, message: withoutApproval(message), forward: true, call: approved, outcome: "forwarded" as const };
  await forward(deps, ex, { plans: [forwarded], answers: [], batch: false, initialize: undefined }, new HttpDownstream(ex.res, { batch: false, soleId: message.id }));
}

async function consumeOnce(deps: ProxyDeps, nonce: string, expiresAt: number, grant: string): Promise<boolean> {
  const store = deps.holder.store;
  const policy = deps.holder.current;
  if (!store || !policy) return false;
  const windowMs = Math.max(1, expiresAt - deps.approvals.clock.now());
  try {
    const result = await store.consume([{ key: `approval-state|${nonce}`, windowMs, max: 1, partition: policy.limitPartitioning === "grant" ? grant : "" }]);
    return result.admitted;
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, "approval state could not be checked in the rate-limit store");
    return false;
  }
}

function answer(deps: ProxyDeps, ex: Exchange, call: DecidedCall, message: Request, verdict: Verdict, outcome: "not_forwarded"): void {
  const settled = deps.enforcer.settleApproval(call, verdict, { forward: false });
  deps.metrics.countRequest("tools/call", "answered");
  void deps.enforcer.complete(settled, outcome);
  sendJson(ex.res, 200, decisionAnswer(message.id, call.request.tool, verdict, true));
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
