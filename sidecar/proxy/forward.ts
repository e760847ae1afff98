// The one way decided messages go upstream, for ordinary POSTs and for calls held for approval alike:
// the canonical body with minted ids, `Content-Type: application/json` set by the sidecar
// (`upstreamRequestHeaders`), and the answer relayed through the inspector to wherever the client
// waits for it.
import type { IncomingHttpHeaders } from "node:http";
import { errors as undiciErrors, type Dispatcher } from "undici";
import { headerValue } from "../mcp/http-headers.ts";
import { methodOf } from "../mcp/jsonrpc.ts";
import type { Downstream } from "./downstream.ts";
import { abortOnClientClose, answerInspector, forwardHeaders, type Exchange, type ProxyDeps } from "./exchange.ts";
import type { MessagePlan } from "./post-plan.ts";
import { idScope } from "./request-ids.ts";
import { relayAnswer } from "./relay.ts";
import { targetCompletion, toolCallCompletion } from "./call-completion.ts";
import { resultGuard } from "./result-guard.ts";
import { upstreamMessages, type ForwardedMessage } from "./upstream-messages.ts";
import { recordStatus, upstreamSpan } from "../observability/request-spans.ts";
import type { TraceCarrier } from "../../telemetry/tracing.ts";

export interface Forwarding {
  /** The plans of the messages to forward (all forward: true). */
  plans: readonly MessagePlan[];
  /** The sidecar's answers to batch elements it did not forward. */
  answers: readonly unknown[];
  batch: boolean;
  /** The client an initialize request (without a session yet) describes, to remember with the session. */
  initialize: { elicitation: boolean } | undefined;
}

export async function forward(deps: ProxyDeps, ex: Exchange, forwarding: Forwarding, out: Downstream): Promise<void> {
  const scope = idScope(ex.context.session, ex.context.caller.grant);
  // The upstream call's client span: the upstream receives its context in the traceparent header
  // and in each request's params._meta, where MCP carries it per message.
  // A POST of cancellations only may send nothing: it gets no upstream span.
  const sends = forwarding.plans.some(
    (p) => !(p.message.kind === "notification" && p.message.method === "notifications/cancelled"),
  );
  const span = sends
    ? upstreamSpan(
        ex.trace,
        deps.upstream.url,
        forwarding.plans.map((p) => p.message),
      )
    : undefined;
  const context = span?.carrier();
  const sent = upstreamMessages(
    forwarding.plans.map((p) => forwardedMessage(deps, p)),
    deps.requestIds,
    scope,
    forwarding.batch,
    context,
  );
  const inspector = (status: number) => answerInspector(deps, ex, status, sent.forwarded);
  if (sent.body === undefined) {
    span?.end();
    return out.answer(202, {}, forwarding.answers);
  }
  try {
    await send(deps, ex, forwarding, out, { body: sent.body, inspector, context }, span);
  } finally {
    span?.end();
  }
}

interface Sending {
  body: string;
  inspector: (status: number) => ReturnType<typeof answerInspector>;
  context: TraceCarrier | undefined;
}

async function send(
  deps: ProxyDeps,
  ex: Exchange,
  forwarding: Forwarding,
  out: Downstream,
  sending: Sending,
  span: ReturnType<typeof upstreamSpan>,
): Promise<void> {
  const { inspector } = sending;
  const controller = abortOnClientClose(ex.res);
  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await deps.upstream.request({
      method: "POST",
      search: ex.search,
      headers: withTraceContext(forwardHeaders(ex), sending.context),
      body: sending.body,
      signal: controller.signal,
    });
  } catch (err) {
    const cancelled = controller.signal.aborted;
    // The request was delivered when the sidecar stopped waiting for its answer: the tool may be
    // running (no refund). A request that never got through, or whose connection broke, is refunded.
    const delivered = err instanceof undiciErrors.HeadersTimeoutError;
    inspector(0).finish(cancelled ? "cancelled" : delivered ? "unknown" : "connection_error");
    if (cancelled) return;
    const timeout = delivered || err instanceof undiciErrors.ConnectTimeoutError;
    recordStatus(span, 0, timeout ? "timeout" : "connection_error");
    deps.log.warn({ err: (err as Error).message }, "upstream request failed");
    for (const p of forwarding.plans) deps.metrics.countRequest(methodOf(p.message), "upstream_error");
    return out.fail(
      timeout ? 504 : 502,
      `The MCP server behind the policy proxy ${timeout ? "did not answer in time" : "cannot be reached"}`,
    );
  }
  recordStatus(span, upstream.statusCode);
  noteSession(deps, ex, upstream.statusCode, upstream.headers, forwarding.initialize);
  await relayAnswer(upstream, out, {
    inspector: inspector(upstream.statusCode),
    synthesized: forwarding.answers,
    maxInspectBytes: deps.config.maxInspectBytes,
    log: deps.log,
  });
}

/** The sidecar's trace context replaces the client's: the upstream's parent is the sidecar's client span. */
function withTraceContext(
  headers: Record<string, string | string[]>,
  context: TraceCarrier | undefined,
): Record<string, string | string[]> {
  if (context?.traceparent === undefined) return headers;
  const out: Record<string, string | string[]> = { ...headers, traceparent: context.traceparent };
  delete out.tracestate;
  if (context.tracestate !== undefined) out.tracestate = context.tracestate;
  return out;
}

/** A forwarded message; a decided one goes with its completion (by its answer, or by the stream or request ending). */
function forwardedMessage(deps: ProxyDeps, plan: MessagePlan): ForwardedMessage {
  if (plan.target) return { message: plan.message, call: targetCompletion(deps, plan.target) };
  if (!plan.call) return { message: plan.message };
  return { message: plan.message, call: toolCallCompletion(deps, plan.call, resultGuard(plan.call, deps.metrics)) };
}

/** Binds a session the upstream just issued to the caller, or forgets one it no longer knows. */
function noteSession(
  deps: ProxyDeps,
  ex: Exchange,
  status: number,
  headers: IncomingHttpHeaders,
  initialize: { elicitation: boolean } | undefined,
): void {
  const issued = headerValue(headers, "mcp-session-id");
  const sent = headerValue(ex.req.headers, "mcp-session-id");
  if (sent !== undefined && status === 404) {
    deps.sessions.forget(sent);
    deps.requestIds.forget(idScope(sent, ex.context.caller.grant));
  }
  if (
    initialize &&
    issued !== undefined &&
    status >= 200 &&
    status < 300 &&
    !deps.sessions.bind(issued, ex.context.caller.grant, initialize)
  ) {
    deps.log.error("the upstream issued a session id already bound to another caller; it stays theirs");
  }
}
