// The messages the upstream receives: exactly the decided ones, re-serialised from the strict parse
// (every field kept, UTF-8 JSON), each request under an id the sidecar minted. A client's
// `notifications/cancelled` names its own id, so it is rewritten to name the minted one; one that names
// no outstanding request of the caller has nothing to cancel upstream and is not sent.
import type { ClientMessage } from "../mcp/jsonrpc.ts";
import type { ForwardedRequest, PendingToolCall } from "./answer-inspector.ts";
import type { RequestIds } from "./request-ids.ts";
import type { TraceCarrier } from "../../telemetry/tracing.ts";

export interface ForwardedMessage {
  readonly message: ClientMessage;
  /** For tools/call: completed by the answer. */
  readonly call?: PendingToolCall;
}

export interface UpstreamMessages {
  /** The request body, or undefined when nothing is left to send. */
  readonly body: string | undefined;
  /** The requests sent, by minted id. */
  readonly forwarded: Map<number, ForwardedRequest>;
}

export function upstreamMessages(
  messages: readonly ForwardedMessage[],
  ids: RequestIds,
  scope: string,
  batch: boolean,
  trace?: TraceCarrier,
): UpstreamMessages {
  const forwarded = new Map<number, ForwardedRequest>();
  const out: Record<string, unknown>[] = [];
  for (const { message, call } of messages) {
    if (message.kind === "request") {
      const minted = ids.mint(scope, message.id);
      forwarded.set(minted, {
        clientId: message.id,
        method: message.method,
        ...(call ? { call } : {}),
        ...(carriesInputResponses(message.params) ? { uncacheable: true } : {}),
      });
      out.push(withTraceContext({ ...message.raw, id: minted }, trace));
    } else if (message.kind === "notification" && message.method === "notifications/cancelled") {
      const cancel = cancellation(message.raw, ids, scope);
      if (cancel) out.push(cancel);
    } else if (message.kind !== "invalid") {
      out.push(message.raw);
    }
  }
  if (out.length === 0) return { body: undefined, forwarded };
  return { body: JSON.stringify(batch ? out : out[0]), forwarded };
}

/**
 * A request carrying the sidecar's trace context in `params._meta` (as MCP propagates it per
 * message), replacing any the client sent there; params that are not an object are left as they are.
 */
function withTraceContext(request: Record<string, unknown>, trace: TraceCarrier | undefined): Record<string, unknown> {
  if (trace?.traceparent === undefined) return request;
  const params = request.params ?? {};
  if (!isObject(params)) return request;
  const meta = params._meta ?? {};
  if (!isObject(meta)) return request;
  const { traceparent: _parent, tracestate: _state, ...kept } = meta;
  const context = {
    traceparent: trace.traceparent,
    ...(trace.tracestate !== undefined ? { tracestate: trace.tracestate } : {}),
  };
  return { ...request, params: { ...params, _meta: { ...kept, ...context } } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function cancellation(
  raw: Record<string, unknown>,
  ids: RequestIds,
  scope: string,
): Record<string, unknown> | undefined {
  const params = raw.params;
  if (typeof params !== "object" || params === null || Array.isArray(params)) return undefined;
  const requestId = (params as Record<string, unknown>).requestId;
  if (typeof requestId !== "string" && typeof requestId !== "number") return undefined;
  const minted = ids.cancel(scope, requestId);
  return minted === undefined ? undefined : { ...raw, params: { ...params, requestId: minted } };
}

/** A 2026-07-28 retry: its answer is specific to this caller's input and never cacheable. */
function carriesInputResponses(params: unknown): boolean {
  return typeof params === "object" && params !== null && Object.hasOwn(params, "inputResponses");
}
