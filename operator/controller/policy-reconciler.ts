// Reconciles one McpPolicy: compiles it (once per generation), looks at the pods it selects and the
// other policies of its namespace, writes the status when it changed, and records Events when the
// Ready reason changes or a selected pod is found running without the sidecar.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { isNotFound } from "../../kube/api-errors.ts";
import type { Clock } from "../../kube/clock.ts";
import type { EventRecorder, EventTarget } from "../../kube/event-recorder.ts";
import type { Logger } from "../../kube/logger.ts";
import { compilePolicy } from "../../policy/compile.ts";
import { loadPolicySpec } from "../../policy/load.ts";
import { PolicyError } from "../../policy/paths.ts";
import {
  API_GROUP,
  API_VERSION,
  KIND,
  McpPolicyStatus,
  type McpPolicySpecType,
  type McpPolicyStatusType,
} from "../../policy/schema.ts";
import { MCP_POLICY_PLURAL } from "../crd/mcppolicy-crd.ts";
import { readInjectionStatus } from "../injector/mutate.ts";
import { INJECTION_ENABLED, INJECTION_NAMESPACE_LABEL } from "../names.ts";
import type { PolicyEntry, PolicyIndex } from "../policy-index.ts";
import { findConflicts, governedBy } from "./conflicts.ts";
import { computePolicyStatus, enforces, fixes, sameStatus, type Compilation } from "./policy-status.ts";
import type { PodSummary } from "./pod-summary.ts";
import { definitionsPinnedCondition, type DriftEventSummary } from "./drift-reports.ts";

export interface NamespaceView {
  metadata?: { name?: string; labels?: Record<string, string>; deletionTimestamp?: string };
}

export interface PolicyReconcilerDeps {
  index: PolicyIndex;
  pods: { list(namespace: string): PodSummary[] };
  namespaces: { get(name: string): NamespaceView | undefined };
  writeStatus: (namespace: string, name: string, status: McpPolicyStatusType) => Promise<void>;
  events: EventRecorder | undefined;
  /** The sidecars' tool definition drift reports of a namespace (absent: no DefinitionsPinned input). */
  driftReports?: { list(namespace: string): DriftEventSummary[] };
  /** Where SELECTED and ENFORCED are published as metrics (absent in tests that do not look). */
  podCounts?: PolicyPodCounts;
  clock: Clock;
  logger: Logger;
}

export interface PolicyPodCounts {
  set(namespace: string, name: string, counts: { selected: number; enforced: number }): void;
  delete(namespace: string, name: string): void;
}

/** Writes the status subresource with a merge patch; absent fields are cleared explicitly. */
export function statusWriter(kubeConfig: KubeConfig): PolicyReconcilerDeps["writeStatus"] {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return async (namespace, name, status) => {
    const body = { status: { unguardedPods: [], policyDigest: null, ...status } };
    await api.patchNamespacedCustomObjectStatus(
      { group: API_GROUP, version: API_VERSION, namespace, plural: MCP_POLICY_PLURAL, name, body },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  };
}

export class PolicyReconciler {
  readonly #d: PolicyReconcilerDeps;
  readonly #compiled = new Map<string, { generation: number | undefined; compilation: Compilation }>();
  readonly #reportedPods = new Map<string, Set<string>>();

  constructor(deps: PolicyReconcilerDeps) {
    this.#d = deps;
  }

  async reconcile(namespace: string, name: string): Promise<void> {
    const entry = this.#d.index.get(namespace, name);
    if (!entry) {
      this.#compiled.delete(`${namespace}/${name}`);
      this.#reportedPods.delete(`${namespace}/${name}`);
      this.#d.podCounts?.delete(namespace, name);
      return;
    }
    const previousParse = McpPolicyStatus.safeParse(entry.object.status ?? {});
    const previous = previousParse.success && entry.object.status ? previousParse.data : undefined;
    const allPods = this.#d.pods.list(namespace);
    const pods = governedBy(entry, allPods);
    const ns = this.#d.namespaces.get(namespace);
    const status = computePolicyStatus({
      name,
      namespace,
      generation: entry.generation ?? 0,
      previous,
      compilation: this.#compile(entry),
      namespaceEnabled: ns?.metadata?.labels?.[INJECTION_NAMESPACE_LABEL] === INJECTION_ENABLED,
      hasSelector: entry.selector !== undefined && Object.keys(entry.selector).length > 0,
      pods,
      conflicts: findConflicts(this.#d.index.inNamespace(namespace), allPods).get(name) ?? [],
      now: this.#d.clock.now(),
      definitionsPinned: this.#definitionsPinned(entry, pods),
    });
    this.#recordEvents(entry, previous, status, pods);
    this.#d.podCounts?.set(namespace, name, { selected: status.selectedPods ?? 0, enforced: status.enforcedPods ?? 0 });
    if (sameStatus(previous, status)) return;
    try {
      await this.#d.writeStatus(namespace, name, status);
    } catch (error) {
      if (isNotFound(error)) return; // deleted meanwhile
      throw error;
    }
  }

  #definitionsPinned(entry: PolicyEntry, pods: PodSummary[]) {
    const spec = entry.object.spec as McpPolicySpecType | undefined;
    if (!spec?.pins) return undefined;
    const reports = (this.#d.driftReports?.list(entry.namespace) ?? [])
      .filter((e) => e.policy === entry.name)
      .flatMap((e) => (e.report ? [e.report] : []));
    const sidecarPods = new Set(pods.filter((p) => enforces(p, entry.name)).map((p) => p.metadata.name));
    return definitionsPinnedCondition(spec, entry.generation ?? 0, reports, sidecarPods);
  }

  #compile(entry: PolicyEntry): Compilation {
    const cached = this.#compiled.get(entry.key);
    if (cached && cached.generation === entry.generation) return cached.compilation;
    let compilation: Compilation;
    try {
      const policy = compilePolicy(loadPolicySpec(entry.object.spec, entry.key, entry.generation));
      compilation = { ok: true, digest: policy.digest };
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      compilation = { ok: false, problems: error.problems };
    }
    this.#compiled.set(entry.key, { generation: entry.generation, compilation });
    return compilation;
  }

  #recordEvents(
    entry: PolicyEntry,
    previous: McpPolicyStatusType | undefined,
    status: McpPolicyStatusType,
    pods: PodSummary[],
  ): void {
    const events = this.#d.events;
    if (!events) return;
    const ready = status.conditions?.find((c) => c.type === "Ready");
    const before = previous?.conditions?.find((c) => c.type === "Ready");
    const target: EventTarget = {
      kind: KIND,
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      namespace: entry.namespace,
      name: entry.name,
      uid: entry.uid,
    };
    if (ready && (ready.reason !== before?.reason || (ready.status === "False" && ready.message !== before?.message))) {
      events.record(target, ready.status === "True" ? "Normal" : "Warning", ready.reason, ready.message);
    }
    // Each pod found running without the sidecar gets one Event saying how to fix it.
    const reported = this.#reportedPods.get(entry.key) ?? new Set<string>();
    const current = new Set<string>();
    for (const pod of pods) {
      if (enforces(pod, entry.name)) continue;
      const id = pod.metadata.uid ?? pod.metadata.name;
      current.add(id);
      if (reported.has(id)) continue;
      const other = pod.hasSidecar ? readInjectionStatus(pod.metadata.annotations)?.policy : undefined;
      const why = pod.hostNetwork
        ? "it uses hostNetwork, which mcp-warden never injects"
        : other
          ? `it runs the sidecar of McpPolicy ${other}; make the podSelectors disjoint, then restart it: ${fixes([pod], entry.namespace)[0]}`
          : `it was created before the policy or before the namespace was labelled; restart it: ${fixes([pod], entry.namespace)[0]}`;
      events.record(
        { kind: "Pod", apiVersion: "v1", namespace: entry.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
        "Warning",
        "NotInjected",
        `McpPolicy ${entry.name} selects this pod but it runs without the mcp-warden sidecar: ${why}`,
      );
    }
    this.#reportedPods.set(entry.key, current);
  }
}
