// `mcp-warden pins diff|accept POLICY [TOOL...]` with kubectl's flags (`kubectl mcp-warden pins …`):
// shows the tool definitions the sidecars of an McpPolicy report as differing from spec.pins (digests
// and the diff of the changed fields, from their drift report Events, ADR 0133), and after a person
// reviewed them writes the live digests into spec.pins.tools (a merge patch conditioned on the
// policy's resourceVersion). Only reports made for the policy's current generation by pods still
// reporting count; pods that disagree on a tool's live definition are not accepted (review each).
import { parseArgs } from "node:util";
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { describeApiError, statusCodeOf } from "../kube/api-errors.ts";
import { DRIFT_REPORT_SOURCE, readDriftReport, type DriftReportToolType } from "../policy/pins/drift-report.ts";
import { API_GROUP, API_VERSION } from "../policy/schema.ts";
import { MCP_POLICY_PLURAL } from "../operator/crd/mcppolicy-crd.ts";
import { PINS_APPROVER_ROLE } from "../operator/rbac/pins-approver-role.ts";
import { KUBE_CONTEXT_OPTIONS, kubeContext } from "./kube-context.ts";
import { UsageError } from "./usage-error.ts";

const { "all-namespaces": _all, ...KUBE_ONE_NAMESPACE_OPTIONS } = KUBE_CONTEXT_OPTIONS;
const FLAGS = "[--kubeconfig FILE] [--context NAME] [-n NAMESPACE]";
export const diffUsage = `mcp-warden pins diff ${FLAGS} POLICY [TOOL]...`;
export const acceptUsage = `mcp-warden pins accept ${FLAGS} POLICY [TOOL]...`;

interface PolicyObject {
  metadata: { name: string; namespace: string; generation?: number; resourceVersion?: string };
  spec?: { pins?: { mode?: string; tools?: Record<string, string> } };
}

/** One drifted tool across the pods that report it. */
interface Drift {
  tool: string;
  state: DriftReportToolType["state"];
  pinned: string | null;
  /** Live digest → pods, with a diff as one of them reported it. */
  live: Map<string, { pods: string[]; diff: string; fields: string[] }>;
}

export async function runPinsDiff(argv: string[]): Promise<number> {
  const target = await load(argv, "diff");
  if (typeof target === "number") return target;
  const { drifts, policy, stale } = target;
  if (drifts.length === 0) {
    process.stdout.write(
      `No sidecar of McpPolicy ${policy.metadata.namespace}/${policy.metadata.name} reports a tool definition that differs from spec.pins (generation ${policy.metadata.generation ?? "?"}).${staleNote(stale)}\n`,
    );
    return 0;
  }
  for (const d of drifts) {
    process.stdout.write(`tool ${d.tool}: ${d.state === "unpinned" ? "no pin" : `pinned ${d.pinned}`}\n`);
    for (const [digest, seen] of d.live) {
      process.stdout.write(
        `  live ${digest} (pods ${seen.pods.join(", ")})${seen.fields.length ? `; changed: ${seen.fields.join(", ")}` : ""}\n`,
      );
      process.stdout.write(`${seen.diff.replace(/^/gm, "    ")}\n`);
    }
  }
  process.stdout.write(
    `${drifts.length} tool${drifts.length === 1 ? "" : "s"} differ from spec.pins.${staleNote(stale)} After review: pins accept -n ${policy.metadata.namespace} ${policy.metadata.name} [TOOL...]\n`,
  );
  return 0;
}

export async function runPinsAccept(argv: string[]): Promise<number> {
  const target = await load(argv, "accept");
  if (typeof target === "number") return target;
  const { drifts, policy, kubeConfig } = target;
  if (drifts.length === 0)
    return fail(
      `nothing to accept: no sidecar of McpPolicy ${policy.metadata.namespace}/${policy.metadata.name} reports a drift at generation ${policy.metadata.generation ?? "?"}`,
    );
  const tools: Record<string, string> = {};
  for (const d of drifts) {
    if (d.live.size !== 1)
      return fail(
        `${d.tool}: the pods report different live definitions (${[...d.live.keys()].join(", ")}); wait until they agree, or review each with pins diff`,
      );
    tools[d.tool] = [...d.live.keys()][0] as string;
  }
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const { namespace, name, resourceVersion } = policy.metadata;
  try {
    await api.patchNamespacedCustomObject(
      {
        group: API_GROUP,
        version: API_VERSION,
        namespace,
        plural: MCP_POLICY_PLURAL,
        name,
        body: { metadata: { resourceVersion }, spec: { pins: { tools } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  } catch (error) {
    const code = statusCodeOf(error);
    if (code === 409) return fail(`McpPolicy ${namespace}/${name} changed while accepting; run pins diff again`);
    return fail(
      code === 403
        ? `you may not patch McpPolicy ${namespace}/${name} (${describeApiError(error)}); reviewers need the ClusterRole ${PINS_APPROVER_ROLE}`
        : `cannot update McpPolicy ${namespace}/${name}: ${describeApiError(error)}`,
    );
  }
  for (const [tool, digest] of Object.entries(tools))
    process.stdout.write(`accepted ${tool}: spec.pins.tools.${tool} = ${digest}\n`);
  return 0;
}

async function load(
  argv: string[],
  verb: string,
): Promise<number | { drifts: Drift[]; policy: PolicyObject; stale: number; kubeConfig: KubeConfig }> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: KUBE_ONE_NAMESPACE_OPTIONS,
  });
  const [name, ...only] = positionals;
  if (!name) throw new UsageError(`pins ${verb} needs the McpPolicy's name`);
  const { kubeConfig, namespace } = kubeContext(values);
  const ns = namespace as string;
  let policy: PolicyObject;
  let events: { metadata?: { annotations?: Record<string, string> } }[];
  try {
    policy = (await kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace: ns,
      plural: MCP_POLICY_PLURAL,
      name,
    })) as PolicyObject;
    const list = await kubeConfig.makeApiClient(CoreV1Api).listNamespacedEvent({
      namespace: ns,
      fieldSelector: `source=${DRIFT_REPORT_SOURCE},involvedObject.kind=McpPolicy,involvedObject.name=${name}`,
    });
    events = list.items;
  } catch (error) {
    const code = statusCodeOf(error);
    if (code === 404) return fail(`McpPolicy ${ns}/${name} not found`);
    return fail(
      code === 403
        ? `you may not read McpPolicy ${ns}/${name} and its Events (${describeApiError(error)}); reviewers need the ClusterRole ${PINS_APPROVER_ROLE}`
        : `cannot read McpPolicy ${ns}/${name}: ${describeApiError(error)}`,
    );
  }
  if (!policy.spec?.pins) return fail(`McpPolicy ${ns}/${name} has no spec.pins`);
  const reports = events.flatMap((e) => {
    const report = readDriftReport(e.metadata?.annotations);
    return report ? [report] : [];
  });
  const current = reports.filter((r) => r.generation === (policy.metadata.generation ?? null));
  const drifts = new Map<string, Drift>();
  for (const report of current) {
    for (const t of report.tools) {
      const drift: Drift = drifts.get(t.tool) ?? { tool: t.tool, state: t.state, pinned: t.pinned, live: new Map() };
      const live = t.live ?? "(not digestible)";
      const seen = drift.live.get(live) ?? { pods: [] as string[], diff: t.diff, fields: t.fields };
      seen.pods.push(report.pod);
      drift.live.set(live, seen);
      drifts.set(t.tool, drift);
    }
  }
  for (const tool of only)
    if (!drifts.has(tool)) return fail(`${tool}: no sidecar of McpPolicy ${ns}/${name} reports a drift of this tool`);
  const shown = [...drifts.values()]
    .filter((d) => only.length === 0 || only.includes(d.tool))
    .sort((a, b) => (a.tool < b.tool ? -1 : 1));
  return { drifts: shown, policy, stale: reports.length - current.length, kubeConfig };
}

function staleNote(stale: number): string {
  return stale > 0
    ? ` (${stale} report${stale === 1 ? "" : "s"} of an earlier generation ignored: those sidecars have not reloaded yet)`
    : "";
}

function fail(message: string): number {
  process.stderr.write(`error: ${message}\n`);
  return 1;
}
