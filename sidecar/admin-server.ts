// The admin port: Prometheus metrics, liveness and readiness. Readiness fails until a policy is in
// force and from the start of a shutdown, so Kubernetes sends traffic only to a sidecar that enforces.
import { fastify, type FastifyInstance } from "fastify";
import type { SidecarMetrics } from "./observability/metrics.ts";
import { OPENMETRICS_CONTENT_TYPE, openMetricsText, prefersOpenMetrics } from "./observability/open-metrics.ts";

export interface Readiness {
  /** Undefined when ready; otherwise why not. */
  notReadyBecause(): string | undefined;
}

export function createAdminServer(metrics: SidecarMetrics, readiness: Readiness): FastifyInstance {
  const app = fastify({ logger: false, exposeHeadRoutes: false });
  app.get("/metrics", async (request, reply) => {
    // Prometheus text unless the scraper prefers OpenMetrics (the format with exemplars).
    if (prefersOpenMetrics(request.headers.accept)) {
      reply.header("content-type", OPENMETRICS_CONTENT_TYPE);
      return openMetricsText(metrics.registry);
    }
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get("/healthz", () => Promise.resolve({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const reason = readiness.notReadyBecause();
    if (reason === undefined) return { status: "ready" };
    return reply.code(503).send({ status: "not ready", reason });
  });
  return app;
}
