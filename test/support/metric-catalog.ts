// What the sidecar and the operator export: metric names and label names, read from their real
// registries, and the labels Prometheus adds to every scraped series. Dashboard and alert tests check
// their queries against this, so a renamed metric or label fails them before any Prometheus runs.
import { createOperatorMetrics } from "../../operator/metrics.ts";
import { SidecarMetrics } from "../../sidecar/observability/metrics.ts";

/** Target labels the PodMonitor/ServiceMonitor (and any Prometheus) attach. */
export const TARGET_LABELS = ["namespace", "pod", "container", "job", "instance", "service", "endpoint"] as const;

export interface MetricInfo {
  type: string;
  labels: ReadonlySet<string>;
}

/** Every mcp_warden_* metric family, with histogram series (_bucket/_sum/_count) under their own names. */
export function metricCatalog(): Map<string, MetricInfo> {
  const catalog = new Map<string, MetricInfo>();
  const registries = [
    new SidecarMetrics({ version: "test" }, { processMetrics: false }).registry,
    createOperatorMetrics({ version: "test", defaultMetrics: false }).registry,
  ];
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name, labelNames, type } = metric as unknown as { name: string; labelNames: string[]; type: string };
      const known = catalog.get(name);
      const labels = new Set([...(known?.labels ?? []), ...labelNames]);
      catalog.set(name, { type, labels });
      if (type === "histogram") {
        catalog.set(`${name}_bucket`, { type: "counter", labels: new Set([...labels, "le"]) });
        catalog.set(`${name}_sum`, { type: "counter", labels });
        catalog.set(`${name}_count`, { type: "counter", labels });
      }
    }
  }
  return catalog;
}

export interface Selector {
  metric: string;
  /** Label names used in the selector's matchers. */
  labels: string[];
}

/** The mcp_warden_* series selectors of a PromQL expression (`up{…}` and friends are not ours). */
export function selectorsIn(expr: string): Selector[] {
  const selectors: Selector[] = [];
  for (const match of expr.matchAll(/\b(mcp_warden_[a-z_]+)\s*(\{([^}]*)\})?/g)) {
    const labels = [...(match[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"/g)].map(
      (m) => m[1] as string,
    );
    selectors.push({ metric: match[1] as string, labels });
  }
  return selectors;
}

/** Labels named in by (…), without (…) and on (…) clauses. */
export function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) =>
    (m[1] ?? "")
      .split(",")
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

/** Problems with the metrics and labels an expression uses; empty when all exist. */
export function checkExpression(expr: string, catalog = metricCatalog()): string[] {
  const problems: string[] = [];
  const selectors = selectorsIn(expr);
  const available = new Set<string>(TARGET_LABELS);
  for (const { metric, labels } of selectors) {
    const info = catalog.get(metric);
    if (!info) {
      problems.push(`unknown metric ${metric}`);
      continue;
    }
    for (const label of info.labels) available.add(label);
    for (const label of labels) {
      if (!info.labels.has(label) && !(TARGET_LABELS as readonly string[]).includes(label))
        problems.push(`${metric} has no label ${label}`);
    }
  }
  for (const label of groupingLabels(expr)) {
    if (!available.has(label))
      problems.push(`grouping by ${label}, which none of ${selectors.map((s) => s.metric).join(", ")} has`);
  }
  return problems;
}
