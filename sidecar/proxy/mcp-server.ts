// The HTTP front of the proxy (fastify): the MCP endpoint at the upstream's path, and the OAuth
// protected-resource metadata. There is one front door: the MCP route's own onRequest hook, which runs
// once the router has resolved the route, refuses any target that is not exactly the MCP path, then
// checks the Origin and authenticates before a body is read; a request without an authenticated
// caller is never served. Absolute-form targets are refused for every route. Bodies are read raw
// (bounded) because the proxy parses them itself, strictly. Handlers write to the raw response so
// upstream streams pass through without framework buffering.
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import { fastify, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
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
import { isOriginForm, mcpTargetProblem, searchOf } from "./request-target.ts";
import { handleOptions, handleStreamOrDelete } from "./stream.ts";

export interface McpServerDeps extends ProxyDeps {
  authenticator: Authenticator;
  /** Tracks exchanges in flight (false: refused, the connection is closing for a shutdown) and standalone streams among them. */
  inFlight: { begin(res: Exchange["res"]): boolean; stream(res: Exchange["res"]): void };
}

/**
 * The exchange of a CORS preflight is nobody's: stream.ts's OPTIONS handler reads no caller, and no
 * other handler ever gets this one. Its grant is one no authenticated caller can have (every grant is
 * `anonymous` or prefixed by its identity method).
 */
const PREFLIGHT: Omit<CallerContext, "session"> = Object.freeze({ caller: Object.freeze({ grant: "(cors-preflight)", sub: "", groups: [], claims: {} }), authMethod: "none" });

export function createMcpServer(deps: McpServerDeps): FastifyInstance {
  const { config } = deps;
  const path = config.upstream.pathname;
  const app = fastify({
    logger: false,
    bodyLimit: config.maxBodyBytes,
    requestTimeout: config.requestTimeoutMs,
    // A connection that sends nothing is closed after the header timeout; once a request has
    // arrived the socket timeout is lifted (answers and streams may be quiet for long).
    connectionTimeout: config.headersTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    return503OnClosing: true,
    exposeHeadRoutes: false,
    clientErrorHandler: clientErrorHandler(() => deps.metrics.countRequest("_invalid", "rejected")),
    // Node keeps counting the request timeout until the body is read; answers and streams are unbounded.
    http: {
      headersTimeout: Math.min(config.headersTimeoutMs, config.requestTimeoutMs),
      // How often Node looks for expired requests (default 30 s, which would stretch every bound).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, config.headersTimeoutMs / 2)),
    },
  });
  const callers = new WeakMap<IncomingMessage, Omit<CallerContext, "session">>();
  const gate = { ...deps, allowedOrigins: config.allowedOrigins, publicUrl: config.publicUrl, mcpPath: path };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: FastifyError, _request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) deps.log.error({ err: err.message }, "unexpected error handling an MCP request");
    deps.metrics.countRequest("_invalid", "rejected");
    const message = status === 413 ? `Request body larger than ${config.maxBodyBytes} bytes` : status === 415 ? "Unsupported Media Type" : err.message;
    return reply.code(status).type("application/json").send(rpcError(null, status === 400 ? PARSE_ERROR : INVALID_REQUEST, message));
  });

  const notFound = (reply: FastifyReply) => reply.code(404).type("application/json").send(rpcError(null, INVALID_REQUEST, `Not found: the MCP endpoint is ${path}`));

  app.addHook("onRequest", async (request, reply) => {
    request.raw.socket.setTimeout(0);
    if (!deps.inFlight.begin(reply.raw)) return reply.hijack();
    if (!isOriginForm(request.raw.url)) {
      deps.metrics.countRequest("_invalid", "rejected");
      return reply.code(400).type("application/json").send(rpcError(null, INVALID_REQUEST, "Bad Request: the request target must be a path (origin-form), not an absolute URL"));
    }
  });

  /** The MCP route's front door: the exact path, then the gate (Connection, Origin, authentication, Content-Encoding). */
  const frontDoor = async (request: FastifyRequest, reply: FastifyReply) => {
    if (mcpTargetProblem(request.raw.url, path) !== undefined) {
      deps.metrics.countRequest("_invalid", "rejected");
      return notFound(reply);
    }
    const caller = await passGate(gate, request.raw, reply.raw);
    if (!caller) return reply.hijack();
    callers.set(request.raw, caller);
  };

  const exchange = (request: FastifyRequest, res: Exchange["res"], caller: Omit<CallerContext, "session">): Exchange => ({
    req: request.raw,
    res,
    context: { ...caller, session: undefined },
    startedAt: performance.now(),
    search: searchOf(request.raw.url as string),
  });

  const serve = async (request: FastifyRequest, res: Exchange["res"], run: () => Promise<void>): Promise<void> => {
    try {
      await run();
    } catch (err) {
      deps.log.error({ err: (err as Error).message, stack: (err as Error).stack, method: request.method }, "unexpected error handling an MCP request");
      if (!res.headersSent) sendJson(res, 500, rpcError(null, INVALID_REQUEST, "Internal error in the policy proxy"));
      else res.destroy();
    }
  };

  app.route({
    method: ["POST", "GET", "DELETE"],
    url: path,
    onRequest: frontDoor,
    handler: async (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      const caller = callers.get(request.raw);
      if (!caller) {
        // Unreachable while the front door runs; if it ever did not, nothing is served (fail closed).
        deps.metrics.countRequest("_invalid", "unauthenticated");
        return sendJson(res, 401, rpcError(null, INVALID_REQUEST, "Unauthorized: no authenticated caller"));
      }
      const ex = exchange(request, res, caller);
      if (request.method === "GET") deps.inFlight.stream(res);
      await serve(request, res, () =>
        request.method === "POST" ? handlePost(deps, ex, request.body as Buffer | undefined) : handleStreamOrDelete(deps, ex, request.method as "GET" | "DELETE"),
      );
    },
  });
  // CORS preflight carries no credentials and no MCP message (stream.ts passes it on as it is): the
  // exact path and a Connection header naming no header are required. It has no caller, and no
  // caller's grant ever stands in for one.
  app.route({
    method: "OPTIONS",
    url: path,
    onRequest: async (request, reply) => {
      if (mcpTargetProblem(request.raw.url, path) !== undefined) return notFound(reply);
      const connection = connectionHeaderProblem(request.headers);
      if (connection !== undefined) return reply.code(400).type("application/json").send(rpcError(null, INVALID_REQUEST, `Bad Request: ${connection}`));
    },
    handler: async (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      await serve(request, res, () => handleOptions(deps, exchange(request, res, PREFLIGHT)));
    },
  });
  // Anything else on the endpoint would reach the upstream unparsed: refused.
  app.route({
    method: ["PUT", "PATCH", "HEAD", "TRACE"],
    url: path,
    handler: async (_request, reply) => reply.code(405).header("allow", "GET, POST, DELETE, OPTIONS").type("application/json").send(rpcError(null, INVALID_REQUEST, "Method not allowed")),
  });

  const metadata = async (request: { raw: IncomingMessage }, reply: { code(n: number): { send(b: unknown): unknown }; header(k: string, v: string): unknown }) => {
    if (!deps.authenticator.usesOAuth) return reply.code(404).send({ error: "not_found", message: "this MCP endpoint does not accept OAuth tokens" });
    reply.header("cache-control", "max-age=300");
    return reply.code(200).send(protectedResourceMetadata(request.raw, config.publicUrl, path, await deps.authenticator.authorizationServers()));
  };
  app.get(WELL_KNOWN, metadata);
  app.get(`${WELL_KNOWN}${path}`, metadata);
  app.setNotFoundHandler((_request, reply) => notFound(reply));
  return app;
}
