// POST on the MCP endpoint: read the body strictly, check the session and the request metadata
// headers, decide every message, forward what may pass (verbatim, or the allowed subset of a batch
// with the original bytes of each element) and relay the answer with the sidecar's own answers merged in.
import type { IncomingHttpHeaders } from "node:http";
import { errors as undiciErrors, type Dispatcher } from "undici";
import { decodeUtf8, JsonInputError, parseStrictJson, type StrictJson } from "../json/strict-json.ts";
import { HEADER_MISMATCH, INVALID_REQUEST, PARSE_ERROR, SESSION_NOT_FOUND, rpcError } from "../mcp/answers.ts";
import { headerValue, isJsonRequestContentType } from "../mcp/http-headers.ts";
import { classify, idKey, type ClientMessage, type RequestId } from "../mcp/jsonrpc.ts";
import { supportsFormElicitation } from "../approvals/elicitation.ts";
import { declaresModernRevision, metadataMismatch } from "../mcp/request-metadata.ts";
import type { RequestOutcome } from "../observability/metrics.ts";
import { AnswerInspector, type PendingToolCall } from "./answer-inspector.ts";
import { abortOnClientClose, forwardHeaders, hiddenTest, type Exchange, type ProxyDeps } from "./exchange.ts";
import { isModernMessage } from "../mcp/request-metadata.ts";
import { holdToolCall, settleInBatch } from "./held-call.ts";
import { forwardIntoHeld } from "./held-relay.ts";
import { awaitsApproval, duplicateRequestId, planMessages, type MessagePlan } from "./post-plan.ts";
import { relayAnswer, sendJson } from "./relay.ts";

export async function handlePost(deps: ProxyDeps, ex: Exchange, body: Buffer | undefined): Promise<void> {
  const { req, res } = ex;
  const reject = (status: number, methods: readonly string[], outcome: RequestOutcome, answer: unknown) => {
    for (const m of methods.length > 0 ? methods : ["_invalid"]) deps.metrics.countRequest(m, outcome);
    sendJson(res, status, answer);
  };
  if (!isJsonRequestContentType(req.headers["content-type"])) {
    return reject(415, [], "rejected", rpcError(null, INVALID_REQUEST, "Unsupported Media Type: the body must be application/json (UTF-8)"));
  }
  let parsed: StrictJson;
  try {
    parsed = parseStrictJson(decodeUtf8(body ?? Buffer.alloc(0)), { maxDepth: deps.config.maxJsonDepth });
  } catch (err) {
    if (!(err instanceof JsonInputError)) throw err;
    return reject(400, [], "rejected", rpcError(null, PARSE_ERROR, `Parse error: ${err.message}`));
  }
  const batch = Array.isArray(parsed.value);
  const raw = batch ? (parsed.value as unknown[]) : [parsed.value];
  if (batch && raw.length === 0) return reject(400, [], "rejected", rpcError(null, INVALID_REQUEST, "Invalid Request: empty batch"));
  if (raw.length > deps.config.maxBatchSize) {
    return reject(400, [], "rejected", rpcError(null, INVALID_REQUEST, `Invalid Request: a batch may hold at most ${deps.config.maxBatchSize} messages`));
  }
  const messages = raw.map(classify);
  const methods = messages.map(methodOf);
  const singleId = !batch && messages[0]?.kind === "request" ? messages[0].id : null;

  const session = headerValue(req.headers, "mcp-session-id");
  if (session !== undefined && deps.sessions.check(session, ex.caller.caller.grant) !== "ok") {
    return reject(404, methods, "unknown_session", rpcError(null, SESSION_NOT_FOUND, "Session not found"));
  }
  const mismatch = metadataMismatch(req.headers, messages, batch);
  if (mismatch !== undefined) {
    const code = declaresModernRevision(req.headers) ? HEADER_MISMATCH : INVALID_REQUEST;
    return reject(400, methods, "rejected", rpcError(singleId, code, `Header mismatch: ${mismatch}`));
  }
  const duplicate = batch ? duplicateRequestId(messages) : undefined;
  if (duplicate !== undefined) {
    return reject(400, methods, "rejected", rpcError(null, INVALID_REQUEST, `Invalid Request: request id ${JSON.stringify(duplicate)} appears twice in the batch`));
  }

  const context = { ...ex.caller, session };
  const plans = await planMessages(deps, messages, context, req.headers, ex.startedAt);
  const only = plans[0] as MessagePlan;
  if (!batch && awaitsApproval(only)) {
    // Alone in its POST, a call that needs approval waits for it with its answer held open.
    return holdToolCall(deps, ex, only, async (call, held) => {
      deps.metrics.countRequest("tools/call", "forwarded");
      if (held.opened) return forwardIntoHeld(deps, ex, call, body ?? Buffer.alloc(0), held);
      await forward(deps, ex, { body: body ?? Buffer.alloc(0), plans: [{ ...only, forward: true, call, outcome: "forwarded" }], answers: [], singleId, initialize: undefined });
    });
  }
  // In a batch a call cannot wait: it passes on an approval it already has, or is told which to get.
  for (const [i, p] of plans.entries()) {
    if (awaitsApproval(p)) plans[i] = await settleInBatch(deps, p, isModernMessage(req.headers, p.message));
  }
  plans.forEach((p, i) => deps.metrics.countRequest(methods[i] as string, p.outcome));
  const forwarded = plans.filter((p) => p.forward);
  const answers = plans.flatMap((p) => (!p.forward && p.answer !== undefined ? [p.answer] : []));

  if (forwarded.length === 0) {
    if (!batch) {
      // The client's answer to the sidecar's own question: taken, nothing to forward.
      if (only.taken) {
        res.writeHead(202).end();
        return;
      }
      // A notification that cannot be accepted gets an HTTP error, as the transport prescribes.
      if (only.answer === undefined) return sendJson(res, 400, rpcError(null, INVALID_REQUEST, "Invalid Request: tools/call and tools/list must be requests with an id"));
      // A body that is no JSON-RPC message is a bad request; a request the sidecar answers is not.
      return sendJson(res, only.message.kind === "invalid" ? 400 : 200, only.answer);
    }
    if (answers.length === 0) {
      res.writeHead(202).end();
      return;
    }
    return sendJson(res, 200, answers);
  }
  const text = forwarded.length === plans.length ? body : subsetBody(parsed, plans);
  const initialize = session === undefined ? forwarded.find((p) => methodOf(p.message) === "initialize") : undefined;
  await forward(deps, ex, { body: text as Buffer | string, plans: forwarded, answers, singleId, initialize: initialize && clientOf(initialize.message) });
}

interface Forwarding {
  body: Buffer | string;
  plans: readonly MessagePlan[];
  answers: readonly unknown[];
  singleId: RequestId | null;
  /** The client an initialize request (without a session yet) describes, to remember with the session. */
  initialize: { elicitation: boolean } | undefined;
}

function clientOf(message: ClientMessage): { elicitation: boolean } {
  const capabilities = message.kind === "request" ? (message.params as { capabilities?: unknown } | undefined)?.capabilities : undefined;
  return { elicitation: supportsFormElicitation(capabilities) };
}

async function forward(deps: ProxyDeps, ex: Exchange, f: Forwarding): Promise<void> {
  const { res } = ex;
  const calls = new Map<string, PendingToolCall>();
  const lists = new Set<string>();
  const requests = new Map<string, RequestId>();
  for (const p of f.plans) {
    if (p.message.kind !== "request") continue;
    requests.set(idKey(p.message.id), p.message.id);
    if (p.call) calls.set(idKey(p.message.id), pending(deps, p));
    else if (p.message.method === "tools/list") lists.add(idKey(p.message.id));
  }
  const controller = abortOnClientClose(res);
  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await deps.upstream.request({ method: "POST", search: ex.search, headers: forwardHeaders(ex), body: f.body, signal: controller.signal });
  } catch (err) {
    const cancelled = controller.signal.aborted;
    for (const call of calls.values()) call.complete(cancelled ? "cancelled" : "connection_error");
    if (cancelled) return;
    const timeout = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError;
    deps.log.warn({ err: (err as Error).message }, "upstream request failed");
    for (const p of f.plans) deps.metrics.countRequest(methodOf(p.message), "upstream_error");
    sendJson(res, timeout ? 504 : 502, rpcError(f.singleId, INVALID_REQUEST, `The MCP server behind the policy proxy ${timeout ? "did not answer in time" : "cannot be reached"}`));
    return;
  }
  noteSession(deps, ex, upstream.statusCode, upstream.headers, f.initialize);
  const hidden = hiddenTest(deps.holder);
  const soleRequest = requests.size === 1 ? (requests.keys().next().value as string) : undefined;
  const inspector = new AnswerInspector({ toolCalls: calls, toolLists: lists, requests, hidden, knownTools: deps.knownTools, status: upstream.statusCode, soleRequest });
  await relayAnswer(upstream, res, { inspector, rewrite: lists.size > 0 && hidden !== undefined, synthesized: f.answers, maxInspectBytes: deps.config.maxInspectBytes, log: deps.log });
}

/** A forwarded tool call, completed once (by its answer, or by the stream or request ending). */
function pending(deps: ProxyDeps, plan: MessagePlan): PendingToolCall {
  let done = false;
  return {
    complete(outcome, status) {
      if (done || !plan.call) return;
      done = true;
      void deps.enforcer.complete(plan.call, outcome, status);
    },
  };
}

/** Binds a session the upstream just issued to the caller, or forgets one it no longer knows. */
function noteSession(deps: ProxyDeps, ex: Exchange, status: number, headers: IncomingHttpHeaders, initialize: { elicitation: boolean } | undefined): void {
  const issued = headerValue(headers, "mcp-session-id");
  const sent = headerValue(ex.req.headers, "mcp-session-id");
  if (sent !== undefined && status === 404) deps.sessions.forget(sent);
  if (initialize && issued !== undefined && status >= 200 && status < 300 && !deps.sessions.bind(issued, ex.caller.caller.grant, initialize)) {
    deps.log.error("the upstream issued a session id already bound to another caller; it stays theirs");
  }
}

/** The forwarded elements of a batch, each with its original bytes. */
function subsetBody(parsed: StrictJson, plans: readonly MessagePlan[]): string {
  const spans = parsed.elements ?? [];
  const kept = plans.flatMap((p, i) => (p.forward && spans[i] ? [parsed.text.slice(spans[i].start, spans[i].end)] : []));
  return `[${kept.join(",")}]`;
}

function methodOf(message: ClientMessage): string {
  if (message.kind === "response") return "_response";
  if (message.kind === "invalid") return "_invalid";
  return message.method;
}
