// Prometheus scrape configs equivalent to what Prometheus Operator generates for the chart's
// PodMonitor and ServiceMonitor, for a plain Prometheus in tests (no Prometheus Operator here).
//
// The PodMonitor is translated field by field into a pod-discovery job (pod-discovery.ts serves the
// API server's pods with kubernetes_sd's meta labels, since Debian's Prometheus has no
// kubernetes_sd), with the relabelling Prometheus Operator applies: keep pods its selector matches
// and the named container port, and set namespace, pod, container and job. A field this translation
// does not know fails the test instead of being ignored. The operator runs outside the cluster in
// tests, so its ServiceMonitor becomes a static target with the labels Prometheus Operator's
// endpoints discovery would give it (job = the Service's name) and the same honorLabels.

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface PodMonitor {
  metadata: { name: string; namespace?: string };
  spec: {
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    selector: LabelSelector;
    podMetricsEndpoints: Array<{ port: string; path?: string; interval?: string; [other: string]: unknown }>;
    [other: string]: unknown;
  };
}

export interface ServiceMonitor {
  metadata: { name: string; namespace?: string };
  spec: {
    endpoints: Array<{ port: string; path?: string; interval?: string; honorLabels?: boolean }>;
    [other: string]: unknown;
  };
}

/** Prometheus's sanitised form of a Kubernetes label name in meta labels. */
const metaName = (label: string) => label.replace(/[^a-zA-Z0-9_]/g, "_");
const escape = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function selectorRelabelings(selector: LabelSelector): Array<Record<string, unknown>> {
  const rules: Array<Record<string, unknown>> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    rules.push({
      action: "keep",
      source_labels: [
        `__meta_kubernetes_pod_label_${metaName(key)}`,
        `__meta_kubernetes_pod_labelpresent_${metaName(key)}`,
      ],
      regex: `(${escape(value)});true`,
    });
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = `__meta_kubernetes_pod_labelpresent_${metaName(key)}`;
    const label = `__meta_kubernetes_pod_label_${metaName(key)}`;
    if (operator === "Exists") rules.push({ action: "keep", source_labels: [present], regex: "true" });
    else if (operator === "DoesNotExist") rules.push({ action: "drop", source_labels: [present], regex: "true" });
    else if (operator === "In")
      rules.push({ action: "keep", source_labels: [label, present], regex: `(${values.map(escape).join("|")});true` });
    else if (operator === "NotIn")
      rules.push({ action: "drop", source_labels: [label, present], regex: `(${values.map(escape).join("|")});true` });
    else throw new Error(`selector operator ${operator} is not translated`);
  }
  return rules;
}

export function podMonitorScrapeConfig(monitor: PodMonitor, podDiscoveryUrl: string): Record<string, unknown> {
  const known = new Set(["namespaceSelector", "selector", "podMetricsEndpoints"]);
  for (const field of Object.keys(monitor.spec))
    if (!known.has(field)) throw new Error(`PodMonitor spec.${field} is not translated`);
  const [endpoint, ...more] = monitor.spec.podMetricsEndpoints;
  if (!endpoint || more.length > 0) throw new Error("exactly one podMetricsEndpoint is translated");
  for (const field of Object.keys(endpoint))
    if (!["port", "path", "interval"].includes(field))
      throw new Error(`podMetricsEndpoints[0].${field} is not translated`);
  const namespaces = monitor.spec.namespaceSelector?.any
    ? undefined
    : (monitor.spec.namespaceSelector?.matchNames ?? [monitor.metadata.namespace ?? "default"]);
  return {
    job_name: `podMonitor/${monitor.metadata.namespace}/${monitor.metadata.name}/0`,
    metrics_path: endpoint.path ?? "/metrics",
    ...(endpoint.interval ? { scrape_interval: endpoint.interval } : {}),
    http_sd_configs: [{ url: podDiscoveryUrl, refresh_interval: "1s" }],
    relabel_configs: [
      ...(namespaces
        ? [
            {
              action: "keep",
              source_labels: ["__meta_kubernetes_namespace"],
              regex: `(${namespaces.map(escape).join("|")})`,
            },
          ]
        : []),
      { action: "drop", source_labels: ["__meta_kubernetes_pod_phase"], regex: "(Failed|Succeeded)" },
      ...selectorRelabelings(monitor.spec.selector),
      { action: "keep", source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: escape(endpoint.port) },
      { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
      { source_labels: ["__meta_kubernetes_pod_container_name"], target_label: "container" },
      { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
      { target_label: "job", replacement: `${monitor.metadata.namespace}/${monitor.metadata.name}` },
      { target_label: "endpoint", replacement: endpoint.port },
    ],
  };
}

export interface OperatorTarget {
  address: string;
  namespace: string;
  service: string;
  pod: string;
}

export function serviceMonitorStaticConfig(monitor: ServiceMonitor, target: OperatorTarget): Record<string, unknown> {
  const [endpoint, ...more] = monitor.spec.endpoints;
  if (!endpoint || more.length > 0) throw new Error("exactly one ServiceMonitor endpoint is translated");
  return {
    job_name: `serviceMonitor/${monitor.metadata.namespace}/${monitor.metadata.name}/0`,
    metrics_path: endpoint.path ?? "/metrics",
    ...(endpoint.interval ? { scrape_interval: endpoint.interval } : {}),
    honor_labels: endpoint.honorLabels ?? false,
    static_configs: [
      {
        targets: [target.address],
        labels: {
          job: target.service,
          namespace: target.namespace,
          service: target.service,
          pod: target.pod,
          container: "operator",
          endpoint: endpoint.port,
        },
      },
    ],
  };
}
