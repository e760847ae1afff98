// GET (the standalone SSE stream, and resumption with Last-Event-ID), DELETE (ending a session) and
// OPTIONS (CORS preflight) on the MCP endpoint. Streams are relayed event by event through an
// inspector: a resumed stream can replay answers, which are mapped back (or dropped) and filtered like
// those of a POST. A preflight carries no MCP message and passes as it is.
import { errors as undiciErrors, type Dispatcher } from "undici";
import { INVALID_REQUEST, SESSION_NOT_FOUND, rpcError } from "../mcp/answers.ts";
import { downstreamResponseHeaders, headerValue } from "../mcp/http-headers.ts";
import { HttpDownstream, sendJson } from "./downstream.ts";
import { abortOnClientClose, answerInspector, forwardHeaders, type Exchange, type ProxyDeps } from "./exchange.ts";
import { idScope } from "./request-ids.ts";
import { relayAnswer } from "./relay.ts";

export async function handleStreamOrDelete(deps: ProxyDeps, ex: Exchange, method: "GET" | "DELETE"): Promise<void> {
  const session = headerValue(ex.req.headers, "mcp-session-id");
  if (session !== undefined && deps.sessions.check(session, ex.context.caller.grant) !== "ok") {
    deps.metrics.countRequest(method, "unknown_session");
    sendJson(ex.res, 404, rpcError(null, SESSION_NOT_FOUND, "Session not found"));
    return;
  }
  const upstream = await send(deps, ex, method);
  if (!upstream) return;
  deps.metrics.countRequest(method, "forwarded");
  ex.context = { ...ex.context, session };
  const inspector = answerInspector(deps, ex, upstream.statusCode);
  if (
    session !== undefined &&
    (upstream.statusCode === 404 || (method === "DELETE" && upstream.statusCode >= 200 && upstream.statusCode < 300))
  ) {
    deps.sessions.forget(session);
    deps.requestIds.forget(idScope(session, ex.context.caller.grant));
  }
  const out = new HttpDownstream(ex.res, { batch: false, soleId: null });
  await relayAnswer(upstream, out, {
    inspector,
    synthesized: [],
    maxInspectBytes: deps.config.maxInspectBytes,
    log: deps.log,
  });
}

/** CORS preflight carries no credentials and no MCP message: it passes as it is. */
export async function handleOptions(deps: ProxyDeps, ex: Exchange): Promise<void> {
  const upstream = await send(deps, ex, "OPTIONS");
  if (!upstream) return;
  ex.res.writeHead(upstream.statusCode, downstreamResponseHeaders(upstream.headers, { keepLength: false }));
  await upstream.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
  ex.res.end();
}

async function send(
  deps: ProxyDeps,
  ex: Exchange,
  method: "GET" | "DELETE" | "OPTIONS",
): Promise<Dispatcher.ResponseData | undefined> {
  const controller = abortOnClientClose(ex.res);
  try {
    return await deps.upstream.request({
      method,
      search: ex.search,
      headers: forwardHeaders(ex),
      signal: controller.signal,
    });
  } catch (err) {
    if (controller.signal.aborted) return undefined;
    const timeout = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError;
    deps.log.warn({ err: (err as Error).message, method }, "upstream request failed");
    if (method !== "OPTIONS") deps.metrics.countRequest(method, "upstream_error");
    sendJson(
      ex.res,
      timeout ? 504 : 502,
      rpcError(
        null,
        INVALID_REQUEST,
        `The MCP server behind the policy proxy ${timeout ? "did not answer in time" : "cannot be reached"}`,
      ),
    );
    return undefined;
  }
}
