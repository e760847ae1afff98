// The spans of one MCP request through the sidecar, named and attributed after the OpenTelemetry
// semantic conventions for MCP (span `{mcp.method.name} {target}`, mcp.*, jsonrpc.*, gen_ai.tool.name)
// and HTTP (http.*, server.*, network.*), plus the sidecar's own under `mcp_warden.*`: the caller's
// grant, the policy decision, the approval. Arguments, results and tokens never become attributes,
// and the session id only as the audit log's fingerprint (whoever holds a session id can use it).
import type { IncomingHttpHeaders } from "node:http";
import type { Attributes, TraceCarrier, TraceSpan, Tracing } from "../../telemetry/tracing.ts";
import { headerValue } from "../mcp/http-headers.ts";
import type { ClientMessage } from "../mcp/jsonrpc.ts";
import { sessionFingerprint } from "../sessions.ts";
import { storeKind, versionOf, type ApprovalRecord, type CallerContext, type DecidedCall } from "../tool-call.ts";

/** The server span of a POST: one MCP request (or a legacy batch of them, named `batch`). */
export function requestSpan(
  tracing: Tracing,
  headers: IncomingHttpHeaders,
  messages: readonly ClientMessage[],
  batch: boolean,
  context: CallerContext,
): TraceSpan | undefined {
  if (!tracing.enabled) return undefined;
  const only = batch ? undefined : messages[0];
  const method = only && only.kind !== "response" && only.kind !== "invalid" ? only.method : undefined;
  const params = only && (only.kind === "request" || only.kind === "notification") ? paramsOf(only.params) : {};
  const target = method === "tools/call" || method === "prompts/get" ? stringOf(params.name) : undefined;
  const name = batch ? "batch" : method === undefined ? "mcp" : target === undefined ? method : `${method} ${target}`;
  const carriers = [metaCarrier(params), headerCarrier(headers)];
  return tracing.start(name, "server", carriers, {
    "mcp.method.name": method,
    "jsonrpc.request.id": only?.kind === "request" ? String(only.id) : undefined,
    "jsonrpc.protocol.version": "2.0",
    "mcp.protocol.version": headerValue(headers, "mcp-protocol-version"),
    "mcp.session.id": sessionFingerprint(context.session),
    "gen_ai.operation.name": method === "tools/call" ? "execute_tool" : undefined,
    "gen_ai.tool.name": method === "tools/call" ? target : undefined,
    "gen_ai.prompt.name": method === "prompts/get" ? target : undefined,
    "mcp.resource.uri":
      method === "resources/read" || method === "resources/subscribe" ? stringOf(params.uri) : undefined,
    "network.transport": "tcp",
    "network.protocol.name": "http",
    "http.request.method": "POST",
    "mcp_warden.batch.size": batch ? messages.length : undefined,
    "mcp_warden.caller.grant": context.caller.grant,
    "mcp_warden.caller.auth_method": context.authMethod,
  });
}

/** The span of a tool call's policy decision (rate-limit store included), a child of its request's. */
export async function decisionSpan(
  parent: TraceSpan | undefined,
  decide: () => Promise<DecidedCall> | DecidedCall,
): Promise<DecidedCall> {
  const span = parent?.child("mcp_warden.policy.decision", "internal");
  const call = await decide();
  if (!span) return call;
  span.setAttributes(decisionAttributes(call));
  span.end();
  // The call's histograms take the trace id as their exemplar, when the trace is exported.
  return parent?.sampled ? { ...call, traceId: parent.traceId } : call;
}

export function decisionAttributes(call: DecidedCall): Attributes {
  const { policy, verdict } = call;
  return {
    "gen_ai.tool.name": call.request.tool,
    "mcp_warden.decision": verdict.decision,
    "mcp_warden.decision.reason": verdict.reason,
    "mcp_warden.policy.rule": verdict.rule,
    "mcp_warden.policy.name": policy?.name,
    "mcp_warden.policy.version": policy ? versionOf(policy) : undefined,
    "mcp_warden.policy.mode": policy?.mode,
    "mcp_warden.forwarded": call.forward,
    "mcp_warden.approval.required": call.awaitingApproval !== undefined ? true : undefined,
    "mcp_warden.rate_limit.store": call.storeSeconds !== undefined && policy ? storeKind(policy.spec) : undefined,
    "mcp_warden.rate_limit.store_duration_seconds": call.storeSeconds,
    "mcp_warden.rate_limit.retry_after_seconds": verdict.retryAfterSeconds,
  };
}

/** What an approval wait ended with, on its span. */
export function approvalAttributes(call: DecidedCall, record: ApprovalRecord | undefined): Attributes {
  return {
    "mcp_warden.decision": call.verdict.decision,
    "mcp_warden.decision.reason": call.verdict.reason,
    "mcp_warden.approval.name": record?.name,
    "mcp_warden.approval.via": record?.via,
    "mcp_warden.approval.decided_by": record?.decidedBy,
  };
}

/** The client span of the upstream request that carries the forwarded messages. */
export function upstreamSpan(
  parent: TraceSpan | undefined,
  upstream: URL,
  messages: readonly ClientMessage[],
): TraceSpan | undefined {
  if (!parent) return undefined;
  const only = messages.length === 1 ? messages[0] : undefined;
  const method = only?.kind === "request" || only?.kind === "notification" ? only.method : undefined;
  const target =
    method === "tools/call" || method === "prompts/get"
      ? stringOf(paramsOf(only?.kind === "request" ? only.params : undefined).name)
      : undefined;
  const name = method === undefined ? "POST" : target === undefined ? method : `${method} ${target}`;
  return parent.child(name, "client", {
    "mcp.method.name": method,
    "gen_ai.tool.name": method === "tools/call" ? target : undefined,
    "http.request.method": "POST",
    "server.address": upstream.hostname,
    "server.port": Number(upstream.port || (upstream.protocol === "https:" ? 443 : 80)),
    "url.full": upstream.href,
    "network.protocol.name": "http",
  });
}

/** The answer's HTTP status on a span; 5xx and no answer at all fail it. */
export function recordStatus(span: TraceSpan | undefined, status: number, errorType?: string): void {
  if (!span) return;
  if (status > 0) span.setAttributes({ "http.response.status_code": status });
  if (errorType !== undefined) span.fail(errorType);
  else if (status >= 500) span.fail(String(status));
}

function headerCarrier(headers: IncomingHttpHeaders): TraceCarrier {
  return { traceparent: headerValue(headers, "traceparent"), tracestate: headerValue(headers, "tracestate") };
}

/** A request's trace context in `params._meta` (MCP's place for it; the MCP conventions name these keys). */
function metaCarrier(params: Record<string, unknown>): TraceCarrier | undefined {
  const meta = paramsOf(params._meta);
  return typeof meta.traceparent === "string"
    ? { traceparent: meta.traceparent, tracestate: stringOf(meta.tracestate) }
    : undefined;
}

function paramsOf(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
