// The metrics in the OpenMetrics text format, for scrapers that ask for it (Accept:
// application/openmetrics-text): the only format that carries exemplars, the trace ids on the
// decision and latency histograms. Prometheus text stays the default. prom-client renders one
// format per registry and, for OpenMetrics, renames counters in place; each metric is therefore
// rendered through a view of its own (an object whose prototype is the metric), so the registry the
// Prometheus text comes from keeps its names.
import { Registry, type Metric, type OpenMetricsContentType } from "./prom-client.ts";

export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

export async function openMetricsText(registry: Registry): Promise<string> {
  const view = new Registry<OpenMetricsContentType>();
  view.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const metric of registry.getMetricsAsArray()) view.registerMetric(Object.create(metric) as Metric);
  return view.metrics();
}

/**
 * Whether an Accept header prefers OpenMetrics to Prometheus text (as Prometheus's own scrape header
 * does, `application/openmetrics-text;version=1.0.0;q=0.5,...,text/plain;version=0.0.4;q=0.2,...`).
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let open = 0;
  let text = 0;
  for (const part of accept.split(",")) {
    const [type = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === "application/openmetrics-text") open = Math.max(open, q);
    else if (type === "text/plain" || type === "text/*" || type === "*/*") text = Math.max(text, q);
  }
  return open > 0 && open >= text;
}
