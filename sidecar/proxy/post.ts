// POST on the MCP endpoint: read the body strictly, check the session and the request metadata
// headers, decide every message, forward what may pass (the decided messages, re-serialised under
// minted ids) and relay the answer with the sidecar's own answers merged in.
import type { ServerResponse } from "node:http";
import { decodeUtf8, JsonInputError, parseStrictJson, type StrictJson } from "../json/strict-json.ts";
import { HEADER_MISMATCH, INVALID_REQUEST, PARSE_ERROR, SESSION_NOT_FOUND, rpcError } from "../mcp/answers.ts";
import { headerValue, isJsonRequestContentType } from "../mcp/http-headers.ts";
import { classify, methodOf, type ClientMessage, type RequestId } from "../mcp/jsonrpc.ts";
import { supportsFormElicitation } from "../approvals/elicitation.ts";
import { declaresModernRevision, metadataMismatch } from "../mcp/request-metadata.ts";
import type { RequestOutcome } from "../observability/metrics.ts";
import { isModernMessage } from "../mcp/request-metadata.ts";
import { HeldDownstream, HttpDownstream, sendJson } from "./downstream.ts";
import type { Exchange, ProxyDeps } from "./exchange.ts";
import { forward } from "./forward.ts";
import { holdToolCall, settleInBatch } from "./held-call.ts";
import { approvesThroughInput, approveThroughInput } from "./input-required-approval.ts";
import { awaitsApproval, duplicateRequestId, planMessages, type MessagePlan } from "./post-plan.ts";
import { recordStatus, requestSpan } from "../observability/request-spans.ts";

/** The JSON-RPC messages of a POST body: one, or a batch. */
interface PostBody {
  readonly messages: readonly ClientMessage[];
  readonly batch: boolean;
  /** The session the request names (Mcp-Session-Id), not yet checked. */
  readonly session: string | undefined;
  /** The id of a single request, which the answers to the whole POST carry; null for a batch. */
  readonly soleId: RequestId | null;
}

export async function handlePost(deps: ProxyDeps, ex: Exchange, body: Buffer | undefined): Promise<void> {
  const post = readBody(deps, ex, body);
  if (!post) return;
  // The request's server span: it covers the decision, any approval wait and the upstream's answer.
  ex.trace = requestSpan(deps.tracing, ex.req.headers, post.messages, post.batch, {
    ...ex.context,
    session: post.session,
  });
  try {
    if (!acceptsHeaders(deps, ex, post)) return;
    ex.context = { ...ex.context, session: post.session };
    await serveMessages(deps, ex, post);
  } finally {
    recordStatus(ex.trace, ex.res.headersSent ? ex.res.statusCode : 0);
    ex.trace?.end();
  }
}

/** The body's messages, or undefined when it was answered: not JSON, malformed, an empty or oversized batch. */
function readBody(deps: ProxyDeps, ex: Exchange, body: Buffer | undefined): PostBody | undefined {
  const refuse = (message: string, code = INVALID_REQUEST, status = 400) =>
    void rejectRequest(deps, ex.res, status, [], "rejected", rpcError(null, code, message));
  if (!isJsonRequestContentType(ex.req.headers["content-type"]))
    return refuse("Unsupported Media Type: the body must be application/json (UTF-8)", INVALID_REQUEST, 415);
  let parsed: StrictJson;
  try {
    parsed = parseStrictJson(decodeUtf8(body ?? Buffer.alloc(0)), { maxDepth: deps.config.maxJsonDepth });
  } catch (err) {
    if (!(err instanceof JsonInputError)) throw err;
    return refuse(`Parse error: ${err.message}`, PARSE_ERROR);
  }
  const batch = Array.isArray(parsed.value);
  const raw = batch ? (parsed.value as unknown[]) : [parsed.value];
  if (batch && raw.length === 0) return refuse("Invalid Request: empty batch");
  if (raw.length > deps.config.maxBatchSize)
    return refuse(`Invalid Request: a batch may hold at most ${deps.config.maxBatchSize} messages`);
  const messages = raw.map(classify);
  const soleId = !batch && messages[0]?.kind === "request" ? messages[0].id : null;
  return { messages, batch, session: headerValue(ex.req.headers, "mcp-session-id"), soleId };
}

/** False when the request was answered: a session not bound to this caller, headers that contradict the body, an id twice in a batch. */
function acceptsHeaders(deps: ProxyDeps, ex: Exchange, post: PostBody): boolean {
  const methods = post.messages.map(methodOf);
  if (post.session !== undefined && deps.sessions.check(post.session, ex.context.caller.grant) !== "ok") {
    return rejectRequest(
      deps,
      ex.res,
      404,
      methods,
      "unknown_session",
      rpcError(null, SESSION_NOT_FOUND, "Session not found"),
    );
  }
  const mismatch = metadataMismatch(ex.req.headers, post.messages, post.batch);
  if (mismatch !== undefined) {
    const code = declaresModernRevision(ex.req.headers) ? HEADER_MISMATCH : INVALID_REQUEST;
    return rejectRequest(
      deps,
      ex.res,
      400,
      methods,
      "rejected",
      rpcError(post.soleId, code, `Header mismatch: ${mismatch}`),
    );
  }
  const duplicate = post.batch ? duplicateRequestId(post.messages) : undefined;
  if (duplicate !== undefined) {
    return rejectRequest(
      deps,
      ex.res,
      400,
      methods,
      "rejected",
      rpcError(
        null,
        INVALID_REQUEST,
        `Invalid Request: request id ${JSON.stringify(duplicate)} appears twice in the batch`,
      ),
    );
  }
  return true;
}

/** Answers a request that is refused as a whole, counting each of its messages (false: it is answered). */
function rejectRequest(
  deps: ProxyDeps,
  res: ServerResponse,
  status: number,
  methods: readonly string[],
  outcome: RequestOutcome,
  answer: unknown,
): false {
  for (const m of methods.length > 0 ? methods : ["_invalid"]) deps.metrics.countRequest(m, outcome);
  sendJson(res, status, answer);
  return false;
}

/** Decides every message, then holds, answers or forwards them. */
async function serveMessages(deps: ProxyDeps, ex: Exchange, post: PostBody): Promise<void> {
  const plans = await planMessages(deps, post.messages, ex.context, ex.req.headers, ex.startedAt, ex.trace);
  const only = plans[0] as MessagePlan;
  if (!post.batch && awaitsApproval(only)) return waitForApproval(deps, ex, only, post.soleId);
  await decideBatchApprovals(deps, ex, plans);
  plans.forEach((p, i) => deps.metrics.countRequest(methodOf(post.messages[i] as ClientMessage), p.outcome));
  const forwarded = plans.filter((p) => p.forward);
  const answers = plans.flatMap((p) => (!p.forward && p.answer !== undefined ? [p.answer] : []));
  if (forwarded.length === 0) return answerHere(ex.res, post.batch ? undefined : only, answers);
  const initialize =
    post.session === undefined ? forwarded.find((p) => methodOf(p.message) === "initialize") : undefined;
  const out = new HttpDownstream(ex.res, { batch: post.batch, soleId: post.soleId });
  await forward(
    deps,
    ex,
    { plans: forwarded, answers, batch: post.batch, initialize: initialize && clientOf(initialize.message) },
    out,
  );
}

/** Alone in its POST, a call that needs approval asks for it in its answer (input required) or waits for it with its answer held open. */
async function waitForApproval(
  deps: ProxyDeps,
  ex: Exchange,
  only: MessagePlan,
  soleId: RequestId | null,
): Promise<void> {
  if (approvesThroughInput(deps, ex, only)) return approveThroughInput(deps, ex, only);
  return holdToolCall(deps, ex, only, async (call, held) => {
    deps.metrics.countRequest("tools/call", "forwarded");
    const out = held.opened
      ? new HeldDownstream(held, ex.res, call.request.id)
      : new HttpDownstream(ex.res, { batch: false, soleId });
    await forward(
      deps,
      ex,
      {
        plans: [{ ...only, forward: true, call, outcome: "forwarded" }],
        answers: [],
        batch: false,
        initialize: undefined,
      },
      out,
    );
  });
}

/** In a batch a call cannot wait: it passes on an approval it already has, or is told which to get. */
async function decideBatchApprovals(deps: ProxyDeps, ex: Exchange, plans: MessagePlan[]): Promise<void> {
  for (const [i, p] of plans.entries()) {
    if (awaitsApproval(p)) plans[i] = await settleInBatch(deps, p, isModernMessage(ex.req.headers, p.message));
  }
}

/** Nothing to forward: the sidecar's own answers (`single`: the plan of a POST that is not a batch). */
function answerHere(res: ServerResponse, single: MessagePlan | undefined, answers: readonly unknown[]): void {
  if (single) {
    // The client's answer to the sidecar's own question: taken, nothing to forward.
    if (single.taken) return void res.writeHead(202).end();
    // A notification that cannot be accepted gets an HTTP error, as the transport prescribes.
    if (single.answer === undefined)
      return sendJson(
        res,
        400,
        rpcError(null, INVALID_REQUEST, "Invalid Request: tools/call and tools/list must be requests with an id"),
      );
    // A body that is no JSON-RPC message is a bad request; a request the sidecar answers is not.
    return sendJson(res, single.message.kind === "invalid" ? 400 : 200, single.answer);
  }
  if (answers.length === 0) return void res.writeHead(202).end();
  sendJson(res, 200, answers);
}

function clientOf(message: ClientMessage): { elicitation: boolean } {
  const capabilities =
    message.kind === "request" ? (message.params as { capabilities?: unknown } | undefined)?.capabilities : undefined;
  return { elicitation: supportsFormElicitation(capabilities) };
}
