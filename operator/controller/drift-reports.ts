// The sidecars' tool definition drift reports (ADR 0133) as the controller keeps them: from the Events
// a sidecar writes on its McpPolicy (source mcp-warden-sidecar), the report in the annotation and which
// policy it is about. And the McpPolicy condition DefinitionsPinned aggregated from them: only reports
// of pods that run this policy's sidecar, made for the policy's current generation, count.
import type { KubeObject } from "../../kube/informer.ts";
import { readDriftReport, type DriftReportType } from "../../policy/pins/drift-report.ts";
import type { McpPolicySpecType, PolicyConditionType } from "../../policy/schema.ts";

export const DEFINITIONS_PINNED = "DefinitionsPinned";

export interface DriftEventSummary {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  /** The McpPolicy the Event is about. */
  policy: string;
  report: DriftReportType | undefined;
}

/** The field selector of the drift report Events. */
export function driftEventSelector(source: string): string {
  return `source=${source},involvedObject.kind=McpPolicy`;
}

export function summarizeDriftEvent(object: KubeObject): DriftEventSummary & KubeObject {
  const raw = object as KubeObject & {
    metadata?: { name?: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> };
    involvedObject?: { name?: string };
  };
  return {
    metadata: {
      name: raw.metadata?.name ?? "",
      namespace: raw.metadata?.namespace ?? "",
      resourceVersion: raw.metadata?.resourceVersion,
    },
    policy: raw.involvedObject?.name ?? "",
    report: readDriftReport(raw.metadata?.annotations),
  };
}

type ConditionBody = Omit<PolicyConditionType, "lastTransitionTime" | "observedGeneration">;

const MESSAGE_LIMIT = 4096;

/**
 * DefinitionsPinned, or undefined when the policy has no spec.pins. True: no sidecar of this policy
 * reports a drift at this generation. False: the tools that drifted, by pod, and what happens to them.
 */
export function definitionsPinnedCondition(
  spec: McpPolicySpecType | undefined,
  generation: number,
  reports: readonly DriftReportType[],
  sidecarPods: ReadonlySet<string>,
): ConditionBody | undefined {
  const pins = spec?.pins;
  if (!pins) return undefined;
  if (pins.mode === "Off")
    return {
      type: DEFINITIONS_PINNED,
      status: "Unknown",
      reason: "PinsOff",
      message: "spec.pins.mode is Off: tool definitions are not checked.",
    };
  const current = reports.filter((r) => sidecarPods.has(r.pod) && r.generation === generation);
  const byTool = new Map<string, { state: string; pinned: string | null; live: Set<string>; pods: string[] }>();
  for (const report of current) {
    for (const t of report.tools) {
      const entry = byTool.get(t.tool) ?? { state: t.state, pinned: t.pinned, live: new Set<string>(), pods: [] };
      if (t.live) entry.live.add(t.live);
      entry.pods.push(report.pod);
      byTool.set(t.tool, entry);
    }
  }
  const pinned = Object.keys(pins.tools ?? {}).length;
  if (byTool.size === 0) {
    return {
      type: DEFINITIONS_PINNED,
      status: "True",
      reason: "DefinitionsMatch",
      message: `No sidecar reports a tool definition that differs from spec.pins (${pinned} pinned tools, ${sidecarPods.size} pods).`,
    };
  }
  const effect =
    pins.mode === "Enforce" && spec?.mode !== "Audit"
      ? "they are not callable until a person reviews and accepts them"
      : "reported only (Audit)";
  const names = [...byTool.keys()].sort();
  const described = names.slice(0, 20).map((tool) => {
    const e = byTool.get(tool) as { state: string; pinned: string | null; live: Set<string>; pods: string[] };
    const live = [...e.live].map((d) => d.slice(0, 19)).join(" or ");
    return e.state === "unpinned"
      ? `${tool} (no pin; ${e.pods.length} pod${e.pods.length === 1 ? "" : "s"})`
      : `${tool} (pinned ${e.pinned?.slice(0, 19) ?? "?"}, live ${live}; ${e.pods.length} pod${e.pods.length === 1 ? "" : "s"})`;
  });
  const more = names.length > 20 ? ` and ${names.length - 20} more` : "";
  const message = `${names.length} tool definition${names.length === 1 ? " differs" : "s differ"} from spec.pins, ${effect}: ${described.join(", ")}${more}. Review: kubectl mcp-warden pins diff -n NAMESPACE NAME; accept: kubectl mcp-warden pins accept -n NAMESPACE NAME [TOOL...].`;
  return {
    type: DEFINITIONS_PINNED,
    status: "False",
    reason: "DefinitionsDrifted",
    message: message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT - 1)}…` : message,
  };
}
