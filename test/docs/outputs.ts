// Comparing what a guide shows with what the commands print: equal except for what changes from run
// to run (generated pod names, ages, policy digests, times, session fingerprints).
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";

const VARYING: [RegExp, string][] = [
  [/kestra-mcp-[a-z0-9]{6,10}-[a-z0-9]{5}/g, "kestra-mcp-<pod>"],
  [/ +\d+(?:s|m|h|d)(?:\d+(?:s|m|h))?$/gm, " <age>"],
  [/version [0-9a-f]{12}/g, "version <digest>"],
  [/Retry after \d+ seconds?/g, "Retry after <n> seconds"],
  [/'retryAfterSeconds': \d+/g, "'retryAfterSeconds': <n>"],
  [/ {2,}/g, "  "],
];

export function normalize(text: string): string {
  let out = text.replace(/\s+$/, "");
  for (const [pattern, replacement] of VARYING) out = out.replace(pattern, replacement);
  return out;
}

export function sameOutput(actual: string, shown: string, what: string): void {
  assert.equal(normalize(actual), normalize(shown), `${what} differs from the real output:\n${actual}`);
}

/** An audit line: the same JSON but for the time, the session fingerprint, the duration, the digest and
 * the seconds to wait (60 or fewer, depending on how long the calls before took). */
export function sameAuditLine(actual: string, shown: string): void {
  const lines = actual.trim().split("\n");
  assert.equal(lines.length, 1, `one audit line expected:\n${actual}`);
  const strip = (line: string) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    for (const key of ["time", "session", "durationMs", "policyVersion"]) {
      assert.ok(key in record, `the audit line has ${key}`);
      record[key] = "<varies>";
    }
    if (typeof record.retryAfterSeconds === "number")
      record.retryAfterSeconds =
        record.retryAfterSeconds > 0 && record.retryAfterSeconds <= 60 ? "<1-60>" : record.retryAfterSeconds;
    return record;
  };
  assert.deepEqual(strip(lines[0] as string), strip(shown.trim()));
}

/** Grafana's variables, as a dashboard over the last ten minutes and every namespace would set them. */
export function withGrafanaVariables(query: string): string {
  return query.replaceAll("$__rate_interval", "1m").replaceAll("$__range", "10m").replaceAll("$namespace", ".*");
}

/** Prometheus's Kubernetes pod discovery for these pods, as file_sd target groups: one target per
 * container port (init containers too, labelled as such), with the pod's labels. */
export function fileTargets(pods: V1Pod[]): { targets: string[]; labels: Record<string, string> }[] {
  const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, "_");
  return pods.flatMap((pod) => {
    const podLabels = Object.fromEntries(
      Object.entries(pod.metadata?.labels ?? {}).map(([k, v]) => [`__meta_kubernetes_pod_label_${sanitize(k)}`, v]),
    );
    const containers = [
      ...(pod.spec?.initContainers ?? []).map((c) => ({ c, init: "true" })),
      ...(pod.spec?.containers ?? []).map((c) => ({ c, init: "false" })),
    ];
    return containers.flatMap(({ c, init }) =>
      (c.ports ?? []).map((port) => ({
        targets: [`${pod.status?.podIP}:${port.containerPort}`],
        labels: {
          ...podLabels,
          __meta_kubernetes_namespace: pod.metadata?.namespace as string,
          __meta_kubernetes_pod_name: pod.metadata?.name as string,
          __meta_kubernetes_pod_container_name: c.name,
          __meta_kubernetes_pod_container_init: init,
          __meta_kubernetes_pod_container_port_name: port.name ?? "",
          __meta_kubernetes_pod_container_port_number: String(port.containerPort),
        },
      })),
    );
  });
}
