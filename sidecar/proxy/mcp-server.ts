// The HTTP front of the proxy (node:http, no framework on the hot path: ADR 0950): the MCP endpoint at
// the upstream's path, and the OAuth protected-resource metadata. There is one front door: every
// request on this port is first refused unless its target is origin-form, then served only when its
// path is byte for byte the MCP path (a query may follow); there the Connection header and the
// Origin are checked and the caller is authenticated before a body is read, and a request without an
// authenticated caller is never served. Bodies are read raw (bounded) because the proxy parses them
// itself, strictly. Handlers write to the response directly, so upstream streams pass through
// without buffering.
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import { performance } from "node:perf_hooks";
import type { CallerContext } from "../tool-call.ts";
import type { Authenticator } from "../identity/authenticator.ts";
import { protectedResourceMetadata, WELL_KNOWN } from "../identity/protected-resource.ts";
import { INVALID_REQUEST, PARSE_ERROR, rpcError } from "../mcp/answers.ts";
import { connectionHeaderProblem } from "../mcp/http-headers.ts";
import type { Exchange, ProxyDeps } from "./exchange.ts";
import { clientErrorHandler } from "./client-errors.ts";
import { passGate } from "./gate.ts";
import { handlePost } from "./post.ts";
import { sendJson } from "./downstream.ts";
import { announcesBody, readRawBody } from "./raw-body.ts";
import { isOriginForm, searchOf } from "./request-target.ts";
import { handleOptions, handleStreamOrDelete } from "./stream.ts";

export interface McpServerDeps extends ProxyDeps {
  authenticator: Authenticator;
  /** Tracks exchanges in flight (false: refused, the connection is closing for a shutdown) and standalone streams among them. */
  inFlight: { begin(res: Exchange["res"]): boolean; stream(res: Exchange["res"]): void };
}

/** The MCP port: its server, listening and closing. */
export interface McpServer {
  readonly server: Server;
  listen(address: { host: string; port: number }): Promise<void>;
  /** Refuses new requests with 503 from now on, closes idle connections and stops listening. */
  close(): Promise<void>;
}

/**
 * The exchange of a CORS preflight is nobody's: stream.ts's OPTIONS handler reads no caller, and no
 * other handler ever gets this one. Its grant is one no authenticated caller can have (every grant is
 * `anonymous` or prefixed by its identity method).
 */
const PREFLIGHT: Omit<CallerContext, "session"> = Object.freeze({
  caller: Object.freeze({ grant: "(cors-preflight)", sub: "", groups: [], claims: {} }),
  authMethod: "none",
});

/** Methods the endpoint refuses with 405 (anything else that is not served is 404): they would reach the upstream unparsed. */
const NOT_ALLOWED = new Set(["PUT", "PATCH", "HEAD", "TRACE"]);

/**
 * Requests that sent `Expect: 100-continue`: they are told to send their body only once it is to be
 * read, after the gate (Node's default would invite every body, unauthenticated ones included, before
 * any handler runs). A request refused before that gets its final answer instead.
 */
const awaitingContinue = new WeakSet<IncomingMessage>();

function invite(req: IncomingMessage, res: ServerResponse): void {
  if (awaitingContinue.delete(req)) res.writeContinue();
}

/** The front's own refusals, framed as they always were (a JSON-RPC error, UTF-8 JSON). */
function answer(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function createMcpServer(deps: McpServerDeps): McpServer {
  const { config } = deps;
  const path = config.upstream.pathname;
  const gate = { ...deps, allowedOrigins: config.allowedOrigins, publicUrl: config.publicUrl, mcpPath: path };
  const rejected = () => deps.metrics.countRequest("_invalid", "rejected");
  let closing = false;

  const notFound = (res: ServerResponse) =>
    answer(res, 404, rpcError(null, INVALID_REQUEST, `Not found: the MCP endpoint is ${path}`));

  /** A body that could not be read: refused; a body left unread (413) ends the connection. */
  const refuseBody = (res: ServerResponse, status: 400 | 413, message: string) => {
    rejected();
    answer(
      res,
      status,
      rpcError(null, status === 400 ? PARSE_ERROR : INVALID_REQUEST, message),
      status === 413 ? { connection: "close" } : {},
    );
  };

  const exchange = (req: IncomingMessage, res: ServerResponse, caller: Omit<CallerContext, "session">): Exchange => ({
    req,
    res,
    context: { ...caller, session: undefined },
    startedAt: performance.now(),
    search: searchOf(req.url as string),
  });

  const serve = async (req: IncomingMessage, res: ServerResponse, run: () => Promise<void>): Promise<void> => {
    try {
      await run();
    } catch (err) {
      deps.log.error(
        { err: (err as Error).message, stack: (err as Error).stack, method: req.method },
        "unexpected error handling an MCP request",
      );
      if (!res.headersSent) sendJson(res, 500, rpcError(null, INVALID_REQUEST, "Internal error in the policy proxy"));
      else res.destroy();
    }
  };

  /** POST, GET and DELETE on the MCP path: the gate (Connection, Origin, authentication, Content-Encoding), then the body. */
  const endpoint = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const caller = await passGate(gate, req, res);
    if (!caller) return;
    let body: Buffer | undefined;
    if (req.method === "POST" || (req.method === "DELETE" && announcesBody(req))) {
      invite(req, res);
      const read = await readRawBody(req, config.maxBodyBytes);
      if (!read.ok) return refuseBody(res, read.status, read.message);
      body = read.body;
    }
    const ex = exchange(req, res, caller);
    if (req.method === "GET") deps.inFlight.stream(res);
    await serve(req, res, () =>
      req.method === "POST"
        ? handlePost(deps, ex, body)
        : handleStreamOrDelete(deps, ex, req.method as "GET" | "DELETE"),
    );
  };

  // CORS preflight carries no credentials and no MCP message (stream.ts passes it on as it is): a
  // Connection header naming no header is required. It has no caller, and no caller's grant ever
  // stands in for one.
  const preflight = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const connection = connectionHeaderProblem(req.headers);
    if (connection !== undefined)
      return answer(res, 400, rpcError(null, INVALID_REQUEST, `Bad Request: ${connection}`));
    if (announcesBody(req)) {
      invite(req, res);
      const read = await readRawBody(req, config.maxBodyBytes);
      if (!read.ok) return refuseBody(res, read.status, read.message);
    }
    await serve(req, res, () => handleOptions(deps, exchange(req, res, PREFLIGHT)));
  };

  const metadata = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!deps.authenticator.usesOAuth)
      return answer(res, 404, { error: "not_found", message: "this MCP endpoint does not accept OAuth tokens" });
    answer(
      res,
      200,
      protectedResourceMetadata(req, config.publicUrl, path, await deps.authenticator.authorizationServers()),
      { "cache-control": "max-age=300" },
    );
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (closing) {
      res.setHeader("connection", "close");
      return answer(res, 503, rpcError(null, INVALID_REQUEST, "Service Unavailable: the sidecar is shutting down"));
    }
    // A connection that sends nothing is closed after the header timeout; once a request has
    // arrived the socket timeout is lifted (answers and streams may be quiet for long).
    req.socket.setTimeout(0);
    if (!deps.inFlight.begin(res)) return;
    const target = req.url;
    if (!isOriginForm(target)) {
      rejected();
      return answer(
        res,
        400,
        rpcError(
          null,
          INVALID_REQUEST,
          "Bad Request: the request target must be a path (origin-form), not an absolute URL",
        ),
      );
    }
    const query = (target as string).indexOf("?");
    const targetPath = query === -1 ? target : (target as string).slice(0, query);
    const method = req.method as string;
    if (targetPath !== path) {
      if (method === "GET" && (targetPath === WELL_KNOWN || targetPath === `${WELL_KNOWN}${path}`))
        return serve(req, res, () => metadata(req, res));
      // Every other target, whatever it decodes to, is not the MCP endpoint.
      rejected();
      return notFound(res);
    }
    if (method === "POST" || method === "GET" || method === "DELETE") return endpoint(req, res);
    if (method === "OPTIONS") return preflight(req, res);
    if (NOT_ALLOWED.has(method))
      return answer(res, 405, rpcError(null, INVALID_REQUEST, "Method not allowed"), {
        allow: "GET, POST, DELETE, OPTIONS",
      });
    rejected();
    return notFound(res);
  };

  const server = createServer(
    {
      requestTimeout: config.requestTimeoutMs,
      // Node keeps counting the request timeout until the body is read; answers and streams are unbounded.
      headersTimeout: Math.min(config.headersTimeoutMs, config.requestTimeoutMs),
      keepAliveTimeout: config.keepAliveTimeoutMs,
      // How often Node looks for expired requests (default 30 s, which would stretch every bound).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, config.headersTimeoutMs / 2)),
    },
    (req, res) => void serve(req, res, () => route(req, res)),
  );
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  server.setTimeout(config.headersTimeoutMs);
  server.on("clientError", clientErrorHandler(rejected));
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.add(req);
    server.emit("request", req, res);
  });

  return {
    server,
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host, port }, () => {
          server.off("error", reject);
          resolve();
        });
      }),
    close: () => {
      closing = true;
      server.closeIdleConnections();
      if (!server.listening) return Promise.resolve();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
