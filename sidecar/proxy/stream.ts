// GET (the standalone SSE stream, and resumption with Last-Event-ID), DELETE (ending a session) and
// OPTIONS (CORS preflight) on the MCP endpoint. Streams are relayed as they arrive; a resumed stream can
// replay a tools/list answer, so any tools/list result on it is filtered like on a POST.
import { errors as undiciErrors, type Dispatcher } from "undici";
import { INVALID_REQUEST, SESSION_NOT_FOUND, rpcError } from "../mcp/answers.ts";
import { headerValue } from "../mcp/http-headers.ts";
import { abortOnClientClose, forwardHeaders, hiddenTest, streamInspector, type Exchange, type ProxyDeps } from "./exchange.ts";
import { relayAnswer, sendJson } from "./relay.ts";

export async function handleStreamOrDelete(deps: ProxyDeps, ex: Exchange, method: "GET" | "DELETE"): Promise<void> {
  const session = headerValue(ex.req.headers, "mcp-session-id");
  if (session !== undefined && deps.sessions.check(session, ex.caller.caller.grant) !== "ok") {
    deps.metrics.countRequest(method, "unknown_session");
    sendJson(ex.res, 404, rpcError(null, SESSION_NOT_FOUND, "Session not found"));
    return;
  }
  const upstream = await send(deps, ex, method);
  if (!upstream) return;
  deps.metrics.countRequest(method, "forwarded");
  if (session !== undefined && (upstream.statusCode === 404 || (method === "DELETE" && upstream.statusCode >= 200 && upstream.statusCode < 300))) {
    deps.sessions.forget(session);
  }
  const hidden = hiddenTest(deps.holder);
  await relayAnswer(upstream, ex.res, {
    inspector: streamInspector(deps, upstream.statusCode),
    // A resumed GET stream may replay a tools/list answer; DELETE answers carry no list.
    rewrite: method === "GET" && hidden !== undefined,
    synthesized: [],
    maxInspectBytes: deps.config.maxInspectBytes,
    log: deps.log,
  });
}

/** CORS preflight carries no credentials and no MCP message: it passes as it is. */
export async function handleOptions(deps: ProxyDeps, ex: Exchange): Promise<void> {
  const upstream = await send(deps, ex, "OPTIONS");
  if (!upstream) return;
  await relayAnswer(upstream, ex.res, { inspector: undefined, rewrite: false, synthesized: [], maxInspectBytes: deps.config.maxInspectBytes, log: deps.log });
}

async function send(deps: ProxyDeps, ex: Exchange, method: "GET" | "DELETE" | "OPTIONS"): Promise<Dispatcher.ResponseData | undefined> {
  const controller = abortOnClientClose(ex.res);
  try {
    return await deps.upstream.request({ method, search: ex.search, headers: forwardHeaders(ex), signal: controller.signal });
  } catch (err) {
    if (controller.signal.aborted) return undefined;
    const timeout = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError;
    deps.log.warn({ err: (err as Error).message, method }, "upstream request failed");
    if (method !== "OPTIONS") deps.metrics.countRequest(method, "upstream_error");
    sendJson(ex.res, timeout ? 504 : 502, rpcError(null, INVALID_REQUEST, `The MCP server behind the policy proxy ${timeout ? "did not answer in time" : "cannot be reached"}`));
    return undefined;
  }
}
