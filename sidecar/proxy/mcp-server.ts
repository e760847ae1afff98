// The HTTP front of the proxy (fastify): the MCP endpoint at the upstream's path, and the OAuth
// protected-resource metadata. Origin and authentication are checked before a body is read; bodies are
// read raw (bounded) because the proxy parses them itself, strictly. Handlers write to the raw response
// so upstream streams pass through without framework buffering.
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import { fastify, type FastifyError, type FastifyInstance } from "fastify";
import type { CallerContext } from "../enforcement/enforcer.ts";
import type { Authenticator } from "../identity/authenticator.ts";
import { protectedResourceMetadata, WELL_KNOWN } from "../identity/protected-resource.ts";
import { INVALID_REQUEST, PARSE_ERROR, rpcError } from "../mcp/answers.ts";
import type { Exchange, ProxyDeps } from "./exchange.ts";
import { clientErrorHandler } from "./client-errors.ts";
import { admit } from "./gate.ts";
import { handlePost } from "./post.ts";
import { sendJson } from "./relay.ts";
import { handleOptions, handleStreamOrDelete } from "./stream.ts";

export interface McpServerDeps extends ProxyDeps {
  authenticator: Authenticator;
  /** Tracks exchanges in flight (false: refused, the connection is closing for a shutdown) and standalone streams among them. */
  inFlight: { begin(res: Exchange["res"]): boolean; stream(res: Exchange["res"]): void };
}

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

  app.addHook("onRequest", async (request, reply) => {
    request.raw.socket.setTimeout(0);
    if (!deps.inFlight.begin(reply.raw)) return reply.hijack();
    if (!request.url.startsWith(path) || request.method === "OPTIONS") return;
    const caller = await admit(gate, request.raw, reply.raw);
    if (!caller) return reply.hijack();
    callers.set(request.raw, caller);
  });

  const serve = async (request: { raw: IncomingMessage; body?: unknown; url: string }, res: Exchange["res"], method: string): Promise<void> => {
    const query = request.url.indexOf("?");
    const ex: Exchange = {
      req: request.raw,
      res,
      caller: { ...(callers.get(request.raw) ?? { caller: { grant: "", sub: "", groups: [], claims: {} }, authMethod: "none" }), session: undefined },
      startedAt: performance.now(),
      search: query === -1 ? "" : request.url.slice(query),
    };
    if (method === "GET") deps.inFlight.stream(res);
    try {
      if (method === "POST") await handlePost(deps, ex, request.body as Buffer | undefined);
      else if (method === "OPTIONS") await handleOptions(deps, ex);
      else await handleStreamOrDelete(deps, ex, method as "GET" | "DELETE");
    } catch (err) {
      deps.log.error({ err: (err as Error).message, stack: (err as Error).stack }, "unexpected error handling an MCP request");
      if (!res.headersSent) sendJson(res, 500, rpcError(null, INVALID_REQUEST, "Internal error in the policy proxy"));
      else res.destroy();
    }
  };

  app.route({
    method: ["POST", "GET", "DELETE", "OPTIONS"],
    url: path,
    handler: async (request, reply) => {
      reply.hijack();
      await serve(request, reply.raw, request.method);
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
  app.setNotFoundHandler((_request, reply) => reply.code(404).type("application/json").send(rpcError(null, INVALID_REQUEST, `Not found: the MCP endpoint is ${path}`)));
  return app;
}
