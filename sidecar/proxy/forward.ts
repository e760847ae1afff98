// The one way decided messages go upstream, for ordinary POSTs and for calls held for approval alike:
// the canonical body with minted ids, `Content-Type: application/json` set by the sidecar
// (`upstreamRequestHeaders`), and the answer relayed through the inspector to wherever the client
// waits for it.
import type { IncomingHttpHeaders } from "node:http";
import { errors as undiciErrors, type Dispatcher } from "undici";
import { headerValue } from "../mcp/http-headers.ts";
import type { ClientMessage } from "../mcp/jsonrpc.ts";
import type { Downstream } from "./downstream.ts";
import { abortOnClientClose, answerInspector, forwardHeaders, type Exchange, type ProxyDeps } from "./exchange.ts";
import type { MessagePlan } from "./post-plan.ts";
import { idScope } from "./request-ids.ts";
import { relayAnswer } from "./relay.ts";
import { upstreamMessages, type ForwardedMessage } from "./upstream-messages.ts";

export interface Forwarding {
  /** The plans of the messages to forward (all forward: true). */
  plans: readonly MessagePlan[];
  /** The sidecar's answers to batch elements it did not forward. */
  answers: readonly unknown[];
  batch: boolean;
  /** The client an initialize request (without a session yet) describes, to remember with the session. */
  initialize: { elicitation: boolean } | undefined;
}

export async function forward(deps: ProxyDeps, ex: Exchange, f: Forwarding, out: Downstream): Promise<void> {
  const scope = idScope(ex.caller.session, ex.caller.caller.grant);
  const sent = upstreamMessages(f.plans.map((p) => forwardedMessage(deps, p)), deps.requestIds, scope, f.batch);
  const inspector = (status: number) => answerInspector(deps, ex, status, sent.forwarded);
  if (sent.body === undefined) return out.answer(202, {}, f.answers);
  const controller = abortOnClientClose(ex.res);
  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await deps.upstream.request({ method: "POST", search: ex.search, headers: forwardHeaders(ex), body: sent.body, signal: controller.signal });
  } catch (err) {
    const cancelled = controller.signal.aborted;
    // The request was delivered when the sidecar stopped waiting for its answer: the tool may be
    // running (no refund). A request that never got through, or whose connection broke, is refunded.
    const delivered = err instanceof undiciErrors.HeadersTimeoutError;
    inspector(0).finish(cancelled ? "cancelled" : delivered ? "unknown" : "connection_error");
    if (cancelled) return;
    const timeout = delivered || err instanceof undiciErrors.ConnectTimeoutError;
    deps.log.warn({ err: (err as Error).message }, "upstream request failed");
    for (const p of f.plans) deps.metrics.countRequest(methodOf(p.message), "upstream_error");
    return out.fail(timeout ? 504 : 502, `The MCP server behind the policy proxy ${timeout ? "did not answer in time" : "cannot be reached"}`);
  }
  noteSession(deps, ex, upstream.statusCode, upstream.headers, f.initialize);
  await relayAnswer(upstream, out, { inspector: inspector(upstream.statusCode), synthesized: f.answers, maxInspectBytes: deps.config.maxInspectBytes, log: deps.log });
}

/** A forwarded tool call, completed once (by its answer, or by the stream or request ending). */
function forwardedMessage(deps: ProxyDeps, plan: MessagePlan): ForwardedMessage {
  if (plan.completion) return { message: plan.message, call: plan.completion };
  if (!plan.call) return { message: plan.message };
  const call = plan.call;
  let done = false;
  return {
    message: plan.message,
    call: {
      complete(outcome, status) {
        if (done) return;
        done = true;
        void deps.enforcer.complete(call, outcome, status);
      },
    },
  };
}

/** Binds a session the upstream just issued to the caller, or forgets one it no longer knows. */
function noteSession(deps: ProxyDeps, ex: Exchange, status: number, headers: IncomingHttpHeaders, initialize: { elicitation: boolean } | undefined): void {
  const issued = headerValue(headers, "mcp-session-id");
  const sent = headerValue(ex.req.headers, "mcp-session-id");
  if (sent !== undefined && status === 404) {
    deps.sessions.forget(sent);
    deps.requestIds.forget(idScope(sent, ex.caller.caller.grant));
  }
  if (initialize && issued !== undefined && status >= 200 && status < 300 && !deps.sessions.bind(issued, ex.caller.caller.grant, initialize)) {
    deps.log.error("the upstream issued a session id already bound to another caller; it stays theirs");
  }
}

export function methodOf(message: ClientMessage): string {
  if (message.kind === "response") return "_response";
  if (message.kind === "invalid") return "_invalid";
  return message.method;
}
