// POST on the MCP endpoint: read the body strictly, check the session and the request metadata
// headers, decide every message, forward what may pass (the decided messages, re-serialised under
// minted ids) and relay the answer with the sidecar's own answers merged in.
import { decodeUtf8, JsonInputError, parseStrictJson, type StrictJson } from "../json/strict-json.ts";
import { HEADER_MISMATCH, INVALID_REQUEST, PARSE_ERROR, SESSION_NOT_FOUND, rpcError } from "../mcp/answers.ts";
import { headerValue, isJsonRequestContentType } from "../mcp/http-headers.ts";
import { classify, type ClientMessage } from "../mcp/jsonrpc.ts";
import { supportsFormElicitation } from "../approvals/elicitation.ts";
import { declaresModernRevision, metadataMismatch } from "../mcp/request-metadata.ts";
import type { RequestOutcome } from "../observability/metrics.ts";
import { isModernMessage } from "../mcp/request-metadata.ts";
import { HeldDownstream, HttpDownstream, sendJson } from "./downstream.ts";
import type { Exchange, ProxyDeps } from "./exchange.ts";
import { forward, methodOf } from "./forward.ts";
import { holdToolCall, settleInBatch } from "./held-call.ts";
import { approvesThroughInput, approveThroughInput } from "./input-required-approval.ts";
import { awaitsApproval, duplicateRequestId, planMessages, type MessagePlan } from "./post-plan.ts";
import { recordStatus, requestSpan } from "../observability/request-spans.ts";

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
  const session = headerValue(req.headers, "mcp-session-id");
  // The request's server span: it covers the decision, any approval wait and the upstream's answer.
  ex.trace = requestSpan(deps.tracing, req.headers, messages, batch, { ...ex.caller, session });
  try {
    await handleMessages(deps, ex, messages, batch, session);
  } finally {
    recordStatus(ex.trace, res.headersSent ? res.statusCode : 0);
    ex.trace?.end();
  }
}

async function handleMessages(deps: ProxyDeps, ex: Exchange, messages: ClientMessage[], batch: boolean, session: string | undefined): Promise<void> {
  const { req, res } = ex;
  const reject = (status: number, methods: readonly string[], outcome: RequestOutcome, answer: unknown) => {
    for (const m of methods.length > 0 ? methods : ["_invalid"]) deps.metrics.countRequest(m, outcome);
    sendJson(res, status, answer);
  };
  const methods = messages.map(methodOf);
  const singleId = !batch && messages[0]?.kind === "request" ? messages[0].id : null;

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
  ex.caller = context;
  const plans = await planMessages(deps, messages, context, req.headers, ex.startedAt, ex.trace);
  const only = plans[0] as MessagePlan;
  if (!batch && awaitsApproval(only) && approvesThroughInput(deps, ex, only)) return approveThroughInput(deps, ex, only);
  if (!batch && awaitsApproval(only)) {
    // Alone in its POST, a call that needs approval waits for it with its answer held open.
    return holdToolCall(deps, ex, only, async (call, held) => {
      deps.metrics.countRequest("tools/call", "forwarded");
      const out = held.opened ? new HeldDownstream(held, res, call.request.id) : new HttpDownstream(res, { batch: false, soleId: singleId });
      await forward(deps, ex, { plans: [{ ...only, forward: true, call, outcome: "forwarded" }], answers: [], batch: false, initialize: undefined }, out);
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
  const initialize = session === undefined ? forwarded.find((p) => methodOf(p.message) === "initialize") : undefined;
  const out = new HttpDownstream(res, { batch, soleId: singleId });
  await forward(deps, ex, { plans: forwarded, answers, batch, initialize: initialize && clientOf(initialize.message) }, out);
}

function clientOf(message: ClientMessage): { elicitation: boolean } {
  const capabilities = message.kind === "request" ? (message.params as { capabilities?: unknown } | undefined)?.capabilities : undefined;
  return { elicitation: supportsFormElicitation(capabilities) };
}
