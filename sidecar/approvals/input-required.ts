// What an approval means for a call of the 2026-07-28 revision (ADR 0708): the call an approve rule
// holds is answered with an InputRequiredResult (the approval question as an embedded elicitation,
// and a requestState the sidecar signs and binds to caller, policy, tool, argument digest and
// expiry). The client retries the call with its answer in inputResponses and the state; the retry is
// decided against that state: forged, edited (other tool or arguments), another caller's, expired or
// replayed states are refused. With Kubernetes the round trip is bound to an McpApproval (named in
// the state), which a person can also decide with kubectl and whose one use makes the state single
// use on every replica (bound-retry.ts); without, the state's nonce is used once in the rate-limit
// store. This decides the next step; the proxy answers or forwards (proxy/input-required-approval.ts).
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import { argumentsPreview } from "../../policy/approval/preview.ts";
import { approveCommand } from "../../policy/approval/state.ts";
import type { Admission } from "../../policy/decide.ts";
import type { ApprovalRecord, DecidedCall, Verdict } from "../tool-call.ts";
import { decideBoundRetry } from "./bound-retry.ts";
import type { CallApprovalDeps } from "./call-approval-deps.ts";
import { approvalQuestion } from "./elicitation.ts";
import { approvalRequestOf } from "./held-call-decision.ts";
import type { InputApprovalStep, InputReply } from "./input-approval-step.ts";
import { deniedMessage, unavailableMessage } from "./messages.ts";
import { APPROVAL_INPUT_KEY, STATE_PREFIX, type StateBinding } from "./request-state.ts";

/** Decides a held call of the 2026-07-28 revision from its params (requestState and inputResponses). */
export async function decideInputApproval(
  deps: CallApprovalDeps,
  call: DecidedCall,
  params: Record<string, unknown>,
  signal: AbortSignal,
): Promise<InputApprovalStep> {
  const settings = call.awaitingApproval?.plan.approval;
  if (!settings || !call.policy) throw new Error("approveThroughInput: the call does not wait for approval");
  const binding: StateBinding = {
    policy: call.policy.name,
    grant: call.context.caller.grant,
    tool: call.request.tool,
    args: call.request.args,
  };
  const state = params.requestState;
  const refuse = (verdict: Omit<Verdict, "rule">): InputApprovalStep => ({
    kind: "refuse",
    verdict: { ...verdict, rule: call.verdict.rule },
  });
  const { requestStates } = deps.approvalRuntime;
  const kubernetes = deps.approvalRuntime.approvals.kubernetes;
  const reply = (params.inputResponses as Record<string, unknown> | undefined)?.[APPROVAL_INPUT_KEY] as
    InputReply | undefined;

  if (typeof state !== "string" || !state.startsWith(STATE_PREFIX)) {
    if (kubernetes) return askBound(deps, call, binding);
    return { kind: "ask", state: requestStates.sign(binding, settings.ttlMs), question: true };
  }
  // The state's signature and binding are checked before anything else, and before any API call.
  const check = kubernetes ? requestStates.verify(state, binding) : requestStates.redeem(state, binding);
  if (!check.ok) return refuse(stateRefused(call, check.problem));
  if (kubernetes) {
    if (check.approval === undefined) return refuse(stateRefused(call, "it is not bound to an McpApproval"));
    const answered =
      reply === undefined ? undefined : { approved: isApproved(reply), refusal: notApproved(call, reply) };
    return decideBoundRetry(deps, { call, approval: check.approval, state, reply: answered }, signal);
  }
  if (check.approval !== undefined)
    return refuse(stateRefused(call, "it names an McpApproval, and this sidecar has no Kubernetes API"));
  // Single use across replicas: the state's nonce is consumed once in the policy's rate-limit store
  // (shared by every replica with the Redis store); a store that cannot say refuses (fail closed).
  if (!(await consumeOnce(deps, check.nonce, check.expiresAt, binding.grant))) {
    return refuse(stateRefused(call, "it has already been used (or cannot be checked right now)"));
  }
  if (!isApproved(reply)) return refuse(notApproved(call, reply));
  return admitApproved(deps, call, { via: "Elicitation", decidedBy: `${binding.grant} (at the client)` });
}

/** The approved call's limits: admitted, it is forwarded; over a limit, refused (the approval stays unused). */
export async function admitApproved(
  deps: CallApprovalDeps,
  call: DecidedCall,
  record: ApprovalRecord,
  admitted?: Admission,
): Promise<InputApprovalStep> {
  const admission = admitted ?? (await deps.enforcer.admitApproved(call));
  if (admission.decision !== "allowed") {
    return {
      kind: "refuse",
      verdict: {
        decision: admission.decision,
        reason: admission.reason,
        rule: call.verdict.rule,
        message: admission.message,
        retryAfterSeconds: admission.retryAfterSeconds,
      },
    };
  }
  return { kind: "forward", record, admission };
}

/**
 * The InputRequiredResult of an "ask" step: the approval question (unless only Kubernetes can decide)
 * and the state; with an McpApproval, `_meta` names it and the command that approves it.
 */
export function inputRequiredResult(
  deps: Pick<CallApprovalDeps, "approvalRuntime">,
  call: DecidedCall,
  step: Extract<InputApprovalStep, { kind: "ask" }>,
): { result: Record<string, unknown>; record: ApprovalRecord | undefined } {
  const { approvals } = deps.approvalRuntime;
  const namespace = approvals.namespace ?? "";
  const question = step.question
    ? approvalQuestion(
        call.request.tool,
        approvals.kubernetes ? `${namespace}/${approvals.kubernetes.policy}` : call.policy!.name,
        argumentsPreview(call.request.args),
      )
    : undefined;
  const result = {
    resultType: "input_required",
    ...(question
      ? {
          inputRequests: {
            [APPROVAL_INPUT_KEY]: { method: "elicitation/create", params: { mode: "form", ...question } },
          },
        }
      : {}),
    requestState: step.state,
    ...(step.approval ? { _meta: { [APPROVAL_INPUT_KEY]: approvalMeta(namespace, step.approval) } } : {}),
  };
  return { result, record: step.approval ? { name: `${namespace}/${step.approval.metadata.name}` } : undefined };
}

function isApproved(reply: InputReply | undefined): boolean {
  return reply?.action === "accept" && reply.content?.approve === true;
}

function stateRefused(call: DecidedCall, problem: string): Omit<Verdict, "rule"> {
  return {
    decision: "denied",
    reason: "approval_denied",
    message: `The approval state of this call is refused: ${problem}. Call '${call.request.tool}' again without requestState to be asked anew.`,
  };
}

function notApproved(call: DecidedCall, reply: InputReply | undefined): Omit<Verdict, "rule"> {
  const why = typeof reply?.content?.reason === "string" ? ` (${reply.content.reason.slice(0, 512)})` : "";
  return {
    decision: "denied",
    reason: "approval_denied",
    message: `The person at the client did not approve this call to '${call.request.tool}'${why}. Do not retry it unchanged.`,
  };
}

/** The first answer with Kubernetes: bound to the McpApproval for this exact request (found or new). */
async function askBound(deps: CallApprovalDeps, call: DecidedCall, binding: StateBinding): Promise<InputApprovalStep> {
  const settings = call.awaitingApproval!.plan.approval!;
  const { approvals } = deps.approvalRuntime;
  const rule = call.verdict.rule;
  const found = await approvals.approvalForInput(
    approvalRequestOf(call, { hold: false, signal: new AbortController().signal }),
  );
  if ("problem" in found)
    return {
      kind: "refuse",
      verdict: {
        decision: "approval_required",
        reason: "approval_unavailable",
        rule,
        message: unavailableMessage({ tool: call.request.tool, why: found.problem }),
      },
    };
  if ("outcome" in found) {
    const o = found.outcome;
    const denied =
      o.kind === "denied"
        ? deniedMessage({ tool: call.request.tool, approval: o.approval, by: o.decidedBy, reason: o.reason })
        : `Calls to '${call.request.tool}' need approval by a person.`;
    return { kind: "refuse", verdict: { decision: "denied", reason: "approval_denied", rule, message: denied } };
  }
  const approval = found.approval;
  const ttlMs = Date.parse(approval.spec.expiresAt) - deps.approvalRuntime.clock.now();
  const state = deps.approvalRuntime.requestStates.sign(binding, Math.max(1, ttlMs), approval.metadata.name);
  // Already approved with kubectl: nothing to ask, the retry with the state runs.
  const question = settings.via !== "kubernetes" && approval.status?.decision !== "Approved";
  return { kind: "ask", state, question, approval };
}

function approvalMeta(namespace: string, approval: McpApprovalObject): Record<string, unknown> {
  return {
    approval: `${namespace}/${approval.metadata.name}`,
    command: approveCommand(namespace, approval.metadata.name),
    waitUntil: approval.spec.waitUntil,
    expiresAt: approval.spec.expiresAt,
  };
}

async function consumeOnce(deps: CallApprovalDeps, nonce: string, expiresAt: number, grant: string): Promise<boolean> {
  const store = deps.holder.store;
  const policy = deps.holder.current;
  if (!store || !policy) return false;
  const windowMs = Math.max(1, expiresAt - deps.approvalRuntime.clock.now());
  try {
    const result = await store.consume([
      {
        key: `approval-state|${nonce}`,
        windowMs,
        max: 1,
        partition: policy.limitPartitioning === "grant" ? grant : "",
      },
    ]);
    return result.admitted;
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, "approval state could not be checked in the rate-limit store");
    return false;
  }
}
