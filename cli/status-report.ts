// What `mcp-warden status` says about each McpPolicy, from the status the operator wrote (ADR 0307)
// and the pods it names: pure functions from API objects to a report, and from reports to a table.
import type { McpPolicyStatusType, PolicyConditionType } from "../policy/schema.ts";

export interface PolicyObject {
  metadata: { name: string; namespace: string; generation?: number; creationTimestamp?: string | Date };
  spec?: { mode?: string; default?: string };
  status?: McpPolicyStatusType;
}

export interface UnguardedPod {
  name: string;
  /** The command that gets it the sidecar, or why nothing will; undefined when the pod could not be read. */
  fix: string | undefined;
}

export interface PolicyReport {
  namespace: string;
  name: string;
  mode: string;
  default: string;
  generation: number | null;
  ready: { status: "True" | "False" | "Unknown"; reason: string; message: string };
  selectedPods: number | null;
  enforcedPods: number | null;
  unguardedPods: UnguardedPod[];
  /** The operator's PodsEnforced message (names the pods and their fixes). */
  podsMessage: string | null;
  createdAt: string | null;
  conditions: PolicyConditionType[];
}

export function reportPolicy(policy: PolicyObject, unguarded: UnguardedPod[]): PolicyReport {
  const { metadata, status } = policy;
  const conditions = status?.conditions ?? [];
  const created = metadata.creationTimestamp;
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    mode: policy.spec?.mode ?? "Enforce",
    default: policy.spec?.default ?? "deny",
    generation: metadata.generation ?? null,
    ready: readiness(
      metadata.generation,
      conditions.find((c) => c.type === "Ready"),
    ),
    selectedPods: status?.selectedPods ?? null,
    enforcedPods: status?.enforcedPods ?? null,
    unguardedPods: unguarded,
    podsMessage: conditions.find((c) => c.type === "PodsEnforced" && c.status === "False")?.message ?? null,
    createdAt: created === undefined ? null : new Date(created).toISOString(),
    conditions,
  };
}

function readiness(generation: number | undefined, ready: PolicyConditionType | undefined): PolicyReport["ready"] {
  if (!ready) {
    return {
      status: "Unknown",
      reason: "NoStatus",
      message: "The operator has not reported on this policy yet: is the mcp-warden operator running?",
    };
  }
  if (generation !== undefined && ready.observedGeneration !== undefined && ready.observedGeneration < generation) {
    return {
      status: "Unknown",
      reason: "Pending",
      message: `The operator has not processed generation ${generation} yet (its status is for generation ${ready.observedGeneration}): is the mcp-warden operator running?`,
    };
  }
  return { status: ready.status, reason: ready.reason, message: ready.message };
}

/** A table like `kubectl get mcpp -o wide`, then what needs attention: policies not ready, pods without the sidecar. */
export function renderTable(
  reports: readonly PolicyReport[],
  options: { allNamespaces: boolean; now: number },
): string {
  const header = [
    ...(options.allNamespaces ? ["NAMESPACE"] : []),
    "NAME",
    "MODE",
    "DEFAULT",
    "READY",
    "REASON",
    "SELECTED",
    "ENFORCED",
    "AGE",
  ];
  const rows = reports.map((r) => [
    ...(options.allNamespaces ? [r.namespace] : []),
    r.name,
    r.mode,
    r.default,
    r.ready.status,
    r.ready.reason,
    r.selectedPods === null ? "<none>" : String(r.selectedPods),
    r.enforcedPods === null ? "<none>" : String(r.enforcedPods),
    r.createdAt === null ? "<unknown>" : age(options.now - Date.parse(r.createdAt)),
  ]);
  const lines = columns([header, ...rows]);
  const notes = reports.flatMap((r) => attention(r, options.allNamespaces ? `${r.namespace}/${r.name}` : r.name));
  return `${lines.join("\n")}\n${notes.length > 0 ? `\n${notes.join("\n")}\n` : ""}`;
}

function attention(report: PolicyReport, label: string): string[] {
  const notes: string[] = [];
  if (report.ready.status !== "True")
    notes.push(`${label}: not ready (${report.ready.reason}): ${report.ready.message}`);
  if (report.unguardedPods.length > 0) {
    const selected = report.selectedPods ?? report.unguardedPods.length;
    const without = selected - (report.enforcedPods ?? 0);
    notes.push(
      `${label}: ${without} of ${selected} selected pod${selected === 1 ? "" : "s"} run${without === 1 ? "s" : ""} without the sidecar; the fix:`,
    );
    const width = Math.max(...report.unguardedPods.map((p) => p.name.length));
    for (const pod of report.unguardedPods)
      notes.push(`  ${pod.name.padEnd(width)}   ${pod.fix ?? "(the pod could not be read)"}`);
    if (without > report.unguardedPods.length)
      notes.push(
        `  … and ${without - report.unguardedPods.length} more (the status names the first ${report.unguardedPods.length})`,
      );
    if (report.unguardedPods.some((p) => p.fix === undefined) && report.podsMessage)
      notes.push(`  operator: ${report.podsMessage}`);
  }
  return notes;
}

function columns(table: string[][]): string[] {
  const widths = (table[0] ?? []).map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length)));
  return table.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join(""),
  );
}

/** kubectl's short ages: 45s, 3m20s, 42m, 5h12m, 30h, 4d6h, 120d, 3y. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (h < 3) return `${m}m`;
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 730) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}
