// What to do with each message of a POST body: forward it, or answer it here. Every `tools/call` is
// decided by the policy; look-alikes of policed methods, malformed messages and calls the policy does
// not allow never reach the upstream.
import type { IncomingHttpHeaders } from "node:http";
import { performance } from "node:perf_hooks";
import type { Enforcer } from "../enforcement/enforcer.ts";
import type { CallerContext, DecidedCall, DecidedTarget } from "../tool-call.ts";
import { toolNameProblem, type KnownTools } from "../enforcement/tool-names.ts";
import type { CompiledPolicy } from "../../policy/compile.ts";
import { INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, rpcError } from "../mcp/answers.ts";
import { completionRefusal, decisionAnswer, targetDecisionAnswer, type MissingTools } from "./decision-answers.ts";
import { idKey, imitatesPolicedMethod, POLICED_METHODS, type ClientMessage, type RequestId } from "../mcp/jsonrpc.ts";
import { isModernMessage } from "../mcp/request-metadata.ts";
import type { RequestOutcome } from "../observability/metrics.ts";
import type { PolicyHolder } from "../policy-holder.ts";
import type { ApprovalRuntime } from "../approvals/runtime.ts";
import type { TraceSpan } from "../../telemetry/tracing.ts";
import { decisionSpan } from "../observability/request-spans.ts";
import type { TargetEnforcer } from "../enforcement/target-enforcer.ts";

export interface MessagePlan {
  readonly message: ClientMessage;
  readonly forward: boolean;
  /** The sidecar's answer when not forwarded (absent for dropped notifications). */
  readonly answer?: unknown;
  /** For forwarded tool calls: the decision, completed when the upstream answers. */
  readonly call?: DecidedCall;
  readonly outcome: RequestOutcome;
  /** For forwarded resources/read and prompts/get the policy decided: completed when the upstream answers. */
  readonly target?: DecidedTarget;
  /** A client's answer the sidecar took (to its own elicitation question): nothing to forward or answer. */
  readonly taken?: boolean;
}

export interface PlanDeps {
  enforcer: Enforcer;
  holder: PolicyHolder;
  knownTools: KnownTools;
  approvalRuntime: ApprovalRuntime;
  targets: TargetEnforcer;
}

/** A tool call that an approve rule holds back, still to be settled (held or looked up). */
export function awaitsApproval(plan: MessagePlan): boolean {
  return plan.call?.awaitingApproval !== undefined;
}

export async function planMessages(
  deps: PlanDeps,
  messages: readonly ClientMessage[],
  context: CallerContext,
  headers: IncomingHttpHeaders,
  startedAt = performance.now(),
  trace?: TraceSpan,
): Promise<MessagePlan[]> {
  const plans: MessagePlan[] = [];
  for (const message of messages)
    plans.push(await planMessage(deps, message, context, isModernMessage(headers, message), startedAt, trace));
  return plans;
}

async function planMessage(
  deps: PlanDeps,
  message: ClientMessage,
  context: CallerContext,
  modern: boolean,
  startedAt: number,
  trace: TraceSpan | undefined,
): Promise<MessagePlan> {
  const answer = (id: RequestId | null, code: number, text: string): MessagePlan => ({
    message,
    forward: false,
    answer: rpcError(id, code, text),
    outcome: "answered",
  });
  switch (message.kind) {
    case "response":
      if (deps.approvalRuntime.broker.deliver(message.raw, context.session, context.caller.grant))
        return { message, forward: false, outcome: "answered", taken: true };
      return { message, forward: true, outcome: "forwarded" };
    case "invalid":
      return answer(message.id, INVALID_REQUEST, `Invalid Request: ${message.problem}`);
    case "notification":
      if (POLICED_METHODS.includes(message.method) || imitatesPolicedMethod(message.method)) {
        // A call without an id cannot be answered, so it cannot be decided: it is dropped.
        return { message, forward: false, outcome: "rejected" };
      }
      if (message.method === "notifications/cancelled") cancelHeld(deps, message.params, context);
      return { message, forward: true, outcome: "forwarded" };
    case "request":
      break;
  }
  const { id, method } = message;
  if (imitatesPolicedMethod(method))
    return answer(id, METHOD_NOT_FOUND, `Method not found: ${method} (method names are case-sensitive)`);
  if (method === "resources/read" || method === "prompts/get") return planTarget(deps, message, context, startedAt);
  if (method === "resources/subscribe" || method === "subscriptions/listen")
    return planSubscription(deps, message, context);
  if (method === "completion/complete") return planCompletion(deps, message, context);
  if (method === "tasks/get" || method === "tasks/result" || method === "tasks/cancel" || method === "tasks/update") {
    // A task is its creator's: another caller's looks like one that does not exist.
    const taskId = (message.params as { taskId?: unknown } | undefined)?.taskId;
    if (typeof taskId !== "string" || !deps.targets.tasks.owns(taskId, context.caller.grant))
      return answer(id, INVALID_PARAMS, "Task not found");
  }
  if (method !== "tools/call") return { message, forward: true, outcome: "forwarded" };

  const params = message.params;
  if (typeof params !== "object" || params === null || Array.isArray(params))
    return answer(id, INVALID_PARAMS, "Invalid params: tools/call needs a params object");
  const { name, arguments: args } = params as Record<string, unknown>;
  if (typeof name !== "string") return answer(id, INVALID_PARAMS, "Invalid params: params.name must be a string");
  if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) {
    return answer(id, INVALID_PARAMS, "Invalid params: params.arguments must be an object");
  }
  const request = { id, tool: name, args: (args ?? {}) as Record<string, unknown> };
  const problem = toolNameProblem(name, deps.holder.current, deps.knownTools);
  if (problem !== undefined) {
    const call = await decisionSpan(trace, () => deps.enforcer.refuse(request, context, problem, startedAt));
    void deps.enforcer.complete(call, "not_forwarded");
    return answer(id, INVALID_PARAMS, `Invalid params: ${problem}`);
  }
  const call = await decisionSpan(trace, () => deps.enforcer.decide(request, context, startedAt));
  if (call.forward) return { message, forward: true, call, outcome: "forwarded" };
  if (call.awaitingApproval) return { message, forward: false, call, outcome: "answered" };
  void deps.enforcer.complete(call, "not_forwarded");
  return {
    message,
    forward: false,
    answer: decisionAnswer(id, name, call.verdict, modern, missingTools(deps.knownTools, call.policy)),
    call,
    outcome: "answered",
  };
}

/**
 * The tools the upstream does not have, for answering as it does: a name the policy names exactly (a
 * deny rule with the operator's reason) keeps its denial; see decision-answers.ts.
 */
function missingTools(known: KnownTools, policy: CompiledPolicy | undefined): MissingTools {
  return {
    lacks: (tool) => known.lacks(tool) && policy?.namesTool(tool) !== true,
    answerMissing: (id, tool, modern) => known.answerMissing(id, tool, modern),
  };
}

/** resources/read and prompts/get: decided by the policy's resources: and prompts: blocks when it has them. */
async function planTarget(
  deps: PlanDeps,
  message: ClientMessage & { kind: "request" },
  context: CallerContext,
  startedAt: number,
): Promise<MessagePlan> {
  const kind = message.method === "resources/read" ? "resource" : "prompt";
  const policy = deps.holder.current;
  const policed = policy === undefined || (kind === "resource" ? policy.resources : policy.prompts) !== undefined;
  const params = message.params as Record<string, unknown> | undefined;
  const target =
    typeof params === "object" && params !== null && !Array.isArray(params)
      ? kind === "resource"
        ? params.uri
        : params.name
      : undefined;
  const args = kind === "prompt" ? params?.arguments : undefined;
  // Prompt arguments are strings (MCP): a rule over args.city must not be passed by ["Atlantis"] that a
  // lenient server turns into the string it refuses.
  const badArgs =
    args !== undefined &&
    (typeof args !== "object" ||
      args === null ||
      Array.isArray(args) ||
      Object.values(args).some((v) => typeof v !== "string"));
  if (typeof target !== "string" || badArgs) {
    if (!policed) return { message, forward: true, outcome: "forwarded" };
    const what =
      kind === "resource"
        ? "params.uri must be a string"
        : "params.name must be a string and params.arguments an object of strings";
    return {
      message,
      forward: false,
      answer: rpcError(message.id, INVALID_PARAMS, `Invalid params: ${what}`),
      outcome: "answered",
    };
  }
  const decided = await deps.targets.decide(
    kind,
    message.id,
    target,
    (args ?? {}) as Record<string, unknown>,
    context,
    startedAt,
  );
  if (decided === undefined) return { message, forward: true, outcome: "forwarded" };
  if (!decided.forward) {
    void deps.targets.complete(decided, "not_forwarded");
    return {
      message,
      forward: false,
      answer: targetAnswer(deps, message.id, kind, target, decided.verdict),
      outcome: "answered",
    };
  }
  return { message, forward: true, outcome: "forwarded", target: decided };
}

/** Subscriptions name only resources the caller may read (resources/subscribe: uri; subscriptions/listen: resourceSubscriptions). */
function planSubscription(
  deps: PlanDeps,
  message: ClientMessage & { kind: "request" },
  context: CallerContext,
): MessagePlan {
  const params = message.params as Record<string, unknown> | undefined;
  const listen = (params?.notifications as Record<string, unknown> | undefined)?.resourceSubscriptions;
  const uris = message.method === "resources/subscribe" ? [params?.uri] : listen === undefined ? [] : listen;
  if (!Array.isArray(uris) || uris.some((u) => typeof u !== "string")) {
    return {
      message,
      forward: false,
      answer: rpcError(message.id, INVALID_PARAMS, "Invalid params: subscribed resource URIs must be strings"),
      outcome: "answered",
    };
  }
  const refused = deps.targets.refuseNaming("resource", uris as string[], context, message.id);
  if (!refused) return { message, forward: true, outcome: "forwarded" };
  void deps.targets.complete(refused, "not_forwarded");
  return {
    message,
    forward: false,
    answer: targetDecisionAnswer(message.id, "resource", refused.target, refused.verdict),
    outcome: "answered",
  };
}

/**
 * Argument completion for a prompt or a resource template is decided like reading it: completions of
 * a hidden prompt would name it and leak its values, so it answers as the missing one would.
 */
function planCompletion(
  deps: PlanDeps,
  message: ClientMessage & { kind: "request" },
  context: CallerContext,
): MessagePlan {
  const ref = (message.params as { ref?: { type?: unknown; name?: unknown; uri?: unknown } } | undefined)?.ref;
  const kind = ref?.type === "ref/prompt" ? "prompt" : ref?.type === "ref/resource" ? "resource" : undefined;
  const target = kind === "prompt" ? ref?.name : ref?.uri;
  if (kind === undefined || typeof target !== "string") {
    const policed =
      deps.holder.current === undefined ||
      deps.holder.current.prompts !== undefined ||
      deps.holder.current.resources !== undefined;
    if (!policed) return { message, forward: true, outcome: "forwarded" };
    return {
      message,
      forward: false,
      answer: rpcError(
        message.id,
        INVALID_PARAMS,
        "Invalid params: ref must name a prompt (ref/prompt, name) or a resource template (ref/resource, uri)",
      ),
      outcome: "answered",
    };
  }
  const refused = deps.targets.refuseNaming(kind, [target], context, message.id);
  if (!refused) return { message, forward: true, outcome: "forwarded" };
  void deps.targets.complete(refused, "not_forwarded");
  const template = deps.knownTools.missingTarget.template;
  const answer =
    kind === "prompt"
      ? targetAnswer(deps, message.id, kind, target, refused.verdict)
      : refused.verdict.reason === "hidden" && template.learnt
        ? template.answer(message.id, target)
        : completionRefusal(message.id, kind, target, refused.verdict);
  return { message, forward: false, answer, outcome: "answered" };
}

/** A hidden prompt or resource answers as the upstream answers a missing one, once learnt (decision-answers.ts until then). */
function targetAnswer(
  deps: PlanDeps,
  id: RequestId,
  kind: "resource" | "prompt",
  target: string,
  verdict: DecidedCall["verdict"],
): unknown {
  const missing = deps.knownTools.missingTarget[kind];
  if (verdict.reason === "hidden" && missing.learnt) return missing.answer(id, target);
  return targetDecisionAnswer(id, kind, target, verdict);
}

/** A client cancelling a call held for approval ends its wait (the notification still goes upstream). */
function cancelHeld(deps: PlanDeps, params: unknown, context: CallerContext): void {
  const id = (params as { requestId?: unknown } | undefined)?.requestId;
  if (typeof id === "string" || (typeof id === "number" && Number.isFinite(id)))
    deps.approvalRuntime.held.cancel(context.session, context.caller.grant, id);
}

/** Request ids must be unique within a batch: answers are matched to requests by id. */
export function duplicateRequestId(messages: readonly ClientMessage[]): RequestId | undefined {
  const seen = new Set<string>();
  for (const m of messages) {
    if (m.kind !== "request") continue;
    const key = idKey(m.id);
    if (seen.has(key)) return m.id;
    seen.add(key);
  }
  return undefined;
}
