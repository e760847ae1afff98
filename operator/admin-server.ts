// Health, readiness and metrics on a plain-HTTP port of their own, apart from the webhook's TLS
// port: probes and Prometheus need no certificates, and a scrape can never queue behind admissions.
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

export interface ReadinessCheck {
  name: string;
  ready: () => boolean;
}

export class AdminServer {
  readonly #app: FastifyInstance;
  readonly #host: string;
  readonly #port: number;

  constructor(options: { host: string; port: number; registry: Registry; checks: ReadinessCheck[] }) {
    this.#host = options.host;
    this.#port = options.port;
    this.#app = Fastify({ logger: false, forceCloseConnections: true });
    this.#app.get("/healthz", (_request, reply) => reply.send("ok\n"));
    this.#app.get("/readyz", (_request, reply) => {
      const failing = options.checks.filter((c) => !c.ready()).map((c) => c.name);
      if (failing.length === 0) return reply.send("ok\n");
      return reply.code(503).send(`not ready: ${failing.join(", ")}\n`);
    });
    this.#app.get("/metrics", async (_request, reply) => {
      const body = await options.registry.metrics();
      return reply.header("content-type", options.registry.contentType).send(body);
    });
  }

  async start(): Promise<number> {
    await this.#app.listen({ host: this.#host, port: this.#port });
    const address = this.#app.server.address();
    return typeof address === "object" && address ? address.port : this.#port;
  }

  async close(): Promise<void> {
    await this.#app.close();
  }
}
