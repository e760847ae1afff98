// The injector's HTTPS endpoint: POST /mutate-pods with an AdmissionReview. TLS 1.2 or newer, a
// 2 MB body limit (pods are far smaller; anything bigger is not a pod), and keep-alive longer than
// the API server's 90 s idle timeout so it is always the client that closes idle connections (a
// server-side close racing a reused connection fails an admission). Certificates are swapped in
// place when they rotate; connections in flight keep theirs.
import type { Server as HttpsServer } from "node:https";
import Fastify, { type FastifyInstance } from "fastify";
import { silentLogger, type Logger } from "../../kube/logger.ts";
import type { AdmissionHandler } from "../injector/admission.ts";
import type { TraceCarrier } from "../../telemetry/tracing.ts";

export interface ServingCertificate {
  cert: string;
  key: string;
}

export interface WebhookServerOptions {
  handler: AdmissionHandler;
  host: string;
  port: number;
  certificate: ServingCertificate;
  logger?: Logger;
}

export const WEBHOOK_PATH = "/mutate-pods";
export const WEBHOOK_BODY_LIMIT = 2 * 1024 * 1024;

export class WebhookServer {
  readonly #app: FastifyInstance;
  readonly #o: WebhookServerOptions;

  constructor(options: WebhookServerOptions) {
    this.#o = options;
    const log = options.logger ?? silentLogger;
    this.#app = Fastify({
      https: { cert: options.certificate.cert, key: options.certificate.key, minVersion: "TLSv1.2" },
      bodyLimit: WEBHOOK_BODY_LIMIT,
      keepAliveTimeout: 95_000,
      requestTimeout: 35_000,
      return503OnClosing: true,
      forceCloseConnections: "idle",
      logger: false,
    });
    this.#app.post(WEBHOOK_PATH, (request, reply) => {
      const answer = options.handler.review(request.body, traceContext(request.headers));
      return reply.code(answer.status).send(answer.body);
    });
    this.#app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) log.error({ err: error }, "webhook request failed");
      return reply.code(status).send({ message: error.message });
    });
    this.#app.setNotFoundHandler((_request, reply) =>
      reply.code(404).send({ message: `the webhook serves POST ${WEBHOOK_PATH}` }),
    );
  }

  /** Listens; resolves with the bound port (useful with port 0). */
  async start(): Promise<number> {
    await this.#app.listen({ host: this.#o.host, port: this.#o.port });
    const server = this.#app.server as HttpsServer;
    server.headersTimeout = 32_000;
    const address = server.address();
    return typeof address === "object" && address ? address.port : this.#o.port;
  }

  /** Serves new connections with a rotated certificate. */
  useCertificate(certificate: ServingCertificate): void {
    (this.#app.server as HttpsServer).setSecureContext({
      cert: certificate.cert,
      key: certificate.key,
      minVersion: "TLSv1.2",
    });
  }

  async close(): Promise<void> {
    await this.#app.close();
  }
}

/** The API server's trace context, when it traces its webhook calls (APIServerTracing). */
function traceContext(headers: Record<string, string | string[] | undefined>): TraceCarrier {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  return { traceparent: one(headers.traceparent), tracestate: one(headers.tracestate) };
}
