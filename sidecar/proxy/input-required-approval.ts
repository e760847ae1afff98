// Approval the 2026-07-28 way (ADR 0708): a call an approve rule holds, from a client of that revision,
// is answered with an InputRequiredResult (the approval question as an embedded elicitation, and a
// requestState the sidecar signs and binds to caller, policy, tool, argument digest and expiry). The
// client retries the call with its answer in inputResponses and the state; the retry is decided
// against that state: forged, edited (other tool or arguments), another caller's, expired or replayed
// states are refused. Approved, the retry goes upstream without the sidecar's state and answer.
// With Kubernetes the round trip is bound to an McpApproval (named in the state), which a person can
// also decide with kubectl and whose one use makes the state single use on every replica (see
// input-required-kubernetes.ts); without, today's per-process and rate-limit-store single use holds.
import { argumentsPreview } from "../../policy/approval/preview.ts";
import { approveCommand } from "../../policy/approval/state.ts";
import type { Admission } from "../../policy/decide.ts";
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import type { ApprovalRequest } from "../approvals/approvals.ts";
import { approvalQuestion } from "../approvals/elicitation.ts";
import { deniedMessage, unavailableMessage } from "../approvals/messages.ts";
import { APPROVAL_INPUT_KEY, STATE_PREFIX, type StateBinding } from "../approvals/request-state.ts";
import type { ApprovalRecord, DecidedCall, Verdict } from "../tool-call.ts";
import { decisionAnswer } from "./decision-answers.ts";
import type { ClientMessage } from "../mcp/jsonrpc.ts";
import { isModernMessage } from "../mcp/request-metadata.ts";
import { HttpDownstream, sendJson } from "./downstream.ts";
import type { Exchange, ProxyDeps } from "./exchange.ts";
import { forward } from "./forward.ts";
import { decideBoundRetry, type BoundRoundTrip } from "./input-required-kubernetes.ts";
import type { MessagePlan } from "./post-plan.ts";

type Request = Extract<ClientMessage, { kind: "request" }>;

/**
 * Whether this held call is approved through an InputRequiredResult round trip: every approval of a
 * 2026-07-28 request, except a Kubernetes-only one on a sidecar without Kubernetes (held as before).
 */
export function approvesThroughInput(deps: ProxyDeps, ex: Exchange, plan: MessagePlan): boolean {
  const via = plan.call?.awaitingApproval?.plan.approval?.via;
  if (via === undefined || !isModernMessage(ex.req.headers, plan.message)) return false;
  return via !== "kubernetes" || deps.approvals.approvals.kubernetes !== undefined;
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
  const refuse = (verdict: Omit<Verdict, "rule">, record?: ApprovalRecord) => answer(deps, ex, call, message, { ...verdict, rule }, record);
  const kubernetes = deps.approvals.approvals.kubernetes;
  const reply = (params.inputResponses as Record<string, unknown> | undefined)?.[APPROVAL_INPUT_KEY] as Reply | undefined;

  if (typeof state !== "string" || !state.startsWith(STATE_PREFIX)) {
    if (kubernetes) return askBound(deps, ex, call, message, binding);
    return askInput(deps, ex, call, message, { state: deps.approvals.requestStates.sign(binding, settings.ttlMs), question: true });
  }
  // The state's signature and binding are checked before anything else, and before any API call.
  const check = kubernetes ? deps.approvals.requestStates.verify(state, binding) : deps.approvals.requestStates.redeem(state, binding);
  if (!check.ok) return refuse(stateRefused(call, check.problem));
  if (kubernetes) {
    if (check.approval === undefined) return refuse(stateRefused(call, "it is not bound to an McpApproval"));
    return decideBoundRetry(deps, ex, roundTrip(deps, ex, plan, { state, approval: check.approval, reply, refuse }));
  }
  if (check.approval !== undefined) return refuse(stateRefused(call, "it names an McpApproval, and this sidecar has no Kubernetes API"));
  // Single use across replicas: the state's nonce is consumed once in the policy's rate-limit store
  // (shared by every replica with the Redis store); a store that cannot say refuses (fail closed).
  if (!(await consumeOnce(deps, check.nonce, check.expiresAt, binding.grant))) {
    return refuse(stateRefused(call, "it has already been used (or cannot be checked right now)"));
  }
  if (!isApproved(reply)) return refuse(notApproved(call, reply));
  await forwardApproved(deps, ex, plan, { via: "Elicitation", decidedBy: `${binding.grant} (at the client)` });
}

type Reply = { action?: unknown; content?: Record<string, unknown> };

function isApproved(reply: Reply | undefined): boolean {
  return reply?.action === "accept" && reply.content?.approve === true;
}

function stateRefused(call: DecidedCall, problem: string): Omit<Verdict, "rule"> {
  return { decision: "denied", reason: "approval_denied", message: `The approval state of this call is refused: ${problem}. Call '${call.request.tool}' again without requestState to be asked anew.` };
}

function notApproved(call: DecidedCall, reply: Reply | undefined): Omit<Verdict, "rule"> {
  const why = typeof reply?.content?.reason === "string" ? ` (${reply.content.reason.slice(0, 512)})` : "";
  return { decision: "denied", reason: "approval_denied", message: `The person at the client did not approve this call to '${call.request.tool}'${why}. Do not retry it unchanged.` };
}

/** The first answer with Kubernetes: bound to the McpApproval for this exact request (found or new). */
async function askBound(deps: ProxyDeps, ex: Exchange, call: DecidedCall, message: Request, binding: StateBinding): Promise<void> {
  const settings = call.awaitingApproval!.plan.approval!;
  const { approvals } = deps.approvals;
  const rule = call.verdict.rule;
  const signal = new AbortController().signal;
  const request: ApprovalRequest = { policy: call.policy!, settings, tool: call.request.tool, args: call.request.args, grant: call.context.caller.grant, session: call.context.session, hold: false, signal };
  const found = await approvals.approvalForInput(request);
  if ("problem" in found) return answer(deps, ex, call, message, { decision: "approval_required", reason: "approval_unavailable", rule, message: unavailableMessage({ tool: call.request.tool, why: found.problem }) });
  if ("outcome" in found) {
    const o = found.outcome;
    const denied = o.kind === "denied" ? deniedMessage({ tool: call.request.tool, approval: o.approval, by: o.decidedBy, reason: o.reason }) : `Calls to '${call.request.tool}' need approval by a person.`;
    return answer(deps, ex, call, message, { decision: "denied", reason: "approval_denied", rule, message: denied });
  }
  const approval = found.approval;
  const ttlMs = Date.parse(approval.spec.expiresAt) - deps.approvals.clock.now();
  const state = deps.approvals.requestStates.sign(binding, Math.max(1, ttlMs), approval.metadata.name);
  // Already approved with kubectl: nothing to ask, the retry with the state runs.
  const question = settings.via !== "kubernetes" && approval.status?.decision !== "Approved";
  return askInput(deps, ex, call, message, { state, question, approval });
}

/**
 * Answers with an InputRequiredResult: the approval question (unless only Kubernetes can decide) and
 * the state; with an McpApproval, `_meta` names it and the command that approves it.
 */
function askInput(deps: ProxyDeps, ex: Exchange, call: DecidedCall, message: Request, o: { state: string; question: boolean; approval?: McpApprovalObject }): void {
  const namespace = deps.approvals.approvals.namespace ?? "";
  const question = o.question ? approvalQuestion(call.request.tool, deps.approvals.approvals.kubernetes ? `${namespace}/${deps.approvals.approvals.kubernetes.policy}` : call.policy!.name, argumentsPreview(call.request.args)) : undefined;
  const result = {
    resultType: "input_required",
    ...(question ? { inputRequests: { [APPROVAL_INPUT_KEY]: { method: "elicitation/create", params: { mode: "form", ...question } } } } : {}),
    requestState: o.state,
    ...(o.approval ? { _meta: { [APPROVAL_INPUT_KEY]: approvalMeta(namespace, o.approval) } } : {}),
  };
  const record = o.approval ? { name: `${namespace}/${o.approval.metadata.name}` } : undefined;
  const settled = deps.enforcer.settleApproval(call, call.verdict, { forward: false, ...(record ? { record } : {}) });
  deps.metrics.countRequest("tools/call", "answered");
  void deps.enforcer.complete(settled, "input_required");
  sendJson(ex.res, 200, { jsonrpc: "2.0", id: message.id, result });
}

function approvalMeta(namespace: string, approval: McpApprovalObject): Record<string, unknown> {
  return { approval: `${namespace}/${approval.metadata.name}`, command: approveCommand(namespace, approval.metadata.name), waitUntil: approval.spec.waitUntil, expiresAt: approval.spec.expiresAt };
}

function roundTrip(deps: ProxyDeps, ex: Exchange, plan: MessagePlan, r: { state: string; approval: string; reply: Reply | undefined; refuse: BoundRoundTrip["refuse"] }): BoundRoundTrip {
  const call = plan.call as DecidedCall;
  const message = plan.message as Request;
  return {
    call,
    approval: r.approval,
    reply: r.reply === undefined ? undefined : { approved: isApproved(r.reply), refusal: notApproved(call, r.reply) },
    refuse: r.refuse,
    askAgain: (approval) => askInput(deps, ex, call, message, { state: r.state, question: false, approval }),
    forward: (record, admission) => forwardApproved(deps, ex, plan, record, admission),
  };
}

/** Forwards an approved retry (limits consumed here unless the caller already did). */
async function forwardApproved(deps: ProxyDeps, ex: Exchange, plan: MessagePlan, record: ApprovalRecord, admitted?: Admission): Promise<void> {
  const call = plan.call as DecidedCall;
  const message = plan.message as Request;
  const rule = call.verdict.rule;
  const admission = admitted ?? (await deps.enforcer.admitApproved(call));
  if (admission.decision !== "allowed") return answer(deps, ex, call, message, { decision: admission.decision, reason: admission.reason, rule, message: admission.message, retryAfterSeconds: admission.retryAfterSeconds });
  const approved = deps.enforcer.settleApproval(call, { decision: "allowed", reason: "approved", rule, message: "" }, { forward: true, admission, record });
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

function answer(deps: ProxyDeps, ex: Exchange, call: DecidedCall, message: Request, verdict: Verdict, record?: ApprovalRecord): void {
  const settled = deps.enforcer.settleApproval(call, verdict, { forward: false, ...(record ? { record } : {}) });
  deps.metrics.countRequest("tools/call", "answered");
  void deps.enforcer.complete(settled, "not_forwarded");
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
