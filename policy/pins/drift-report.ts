// The drift report a sidecar writes and the operator and `kubectl mcp-warden pins` read (ADR 0133):
// one Kubernetes Event per sidecar pod about its McpPolicy, named `<policy>.pins.<pod>` and updated in
// place, whose annotation carries the drifted tools as JSON. The shapes and names live here, beside
// the digests, because all three read or write them.
import { z } from "zod";

export const DRIFT_REPORT_ANNOTATION = "mcpwarden.io/pin-drift";
/** source.component of the report Events (a field selector the operator and the plugin use). */
export const DRIFT_REPORT_SOURCE = "mcp-warden-sidecar";
export const DRIFTED_REASON = "DefinitionsDrifted";
export const MATCHING_REASON = "DefinitionsMatchPins";
/** The annotation is kept under this size: diffs are dropped from the last tools first. */
export const MAX_REPORT_BYTES = 128 * 1024;

export const DriftReportTool = z.object({
  tool: z.string(),
  state: z.enum(["drifted", "unpinned"]),
  pinned: z.string().nullable(),
  live: z.string().nullable(),
  fields: z.array(z.string()),
  diff: z.string(),
});

export const DriftReport = z.object({
  pod: z.string(),
  /** The McpPolicy generation the sidecar judged with. */
  generation: z.number().int().nullable(),
  mode: z.enum(["Enforce", "Audit", "Off"]),
  tools: z.array(DriftReportTool),
  /** Drifted tools left out of `tools` to keep the annotation small. */
  omitted: z.number().int().min(0).default(0),
});

export type DriftReportType = z.infer<typeof DriftReport>;
export type DriftReportToolType = z.infer<typeof DriftReportTool>;

/** The Event's name: stable per policy and pod, within the 253 characters of a name. */
export function driftEventName(policy: string, pod: string): string {
  const name = `${policy}.pins.${pod}`;
  return name.length <= 253 ? name : name.slice(0, 253).replace(/[.-]+$/, "");
}

/** The report in an Event's annotations, or undefined when it has none or it does not parse. */
export function readDriftReport(annotations: Record<string, string> | undefined): DriftReportType | undefined {
  const text = annotations?.[DRIFT_REPORT_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    const parsed = DriftReport.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The annotation text, bounded: diffs go first, then whole tools (counted in `omitted`). */
export function writeDriftReport(report: DriftReportType): string {
  let text = JSON.stringify(report);
  const tools = report.tools.map((t) => ({ ...t }));
  for (let i = tools.length - 1; i >= 0 && Buffer.byteLength(text) > MAX_REPORT_BYTES; i--) {
    (tools[i] as DriftReportToolType).diff = "(diff left out: the report is too large; see the sidecar's audit log)";
    text = JSON.stringify({ ...report, tools });
  }
  let omitted = report.omitted;
  while (tools.length > 0 && Buffer.byteLength(text) > MAX_REPORT_BYTES) {
    tools.pop();
    omitted++;
    text = JSON.stringify({ ...report, tools, omitted });
  }
  return text;
}
