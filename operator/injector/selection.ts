// Whether a new pod gets a sidecar, and from which McpPolicy: the in-code re-check of what the
// webhook's namespace and object selectors already filter (they can be edited or bypassed), then
// the policy lookup. Order matters: system namespaces, opt-outs and hostNetwork pods are never
// touched; a pod that already has the sidecar is left alone; a pod two policies select is refused.
import type { V1Pod } from "@kubernetes/client-node";
import { INJECT_POD_LABEL, SIDECAR_CONTAINER } from "../names.ts";
import type { PolicyEntry, PolicyIndex } from "../policy-index.ts";
import type { InjectorConfig } from "./config.ts";
import type { RejectReason, SkipReason } from "./outcome.ts";

export type Selection =
  | { kind: "skip"; reason: SkipReason; warnings: string[] }
  | { kind: "reject"; reason: RejectReason; message: string }
  | { kind: "inject"; policy: PolicyEntry };

export function selectPolicy(pod: V1Pod, namespace: string, index: PolicyIndex, config: InjectorConfig): Selection {
  if (config.systemNamespaces.has(namespace)) return { kind: "skip", reason: "system_namespace", warnings: [] };
  const labels = pod.metadata?.labels;
  const optOut = labels?.[INJECT_POD_LABEL];
  if (optOut === "false") return { kind: "skip", reason: "opted_out", warnings: [] };
  if (optOut !== undefined && optOut !== "true") {
    return {
      kind: "reject",
      reason: "invalid_override",
      message: `label ${INJECT_POD_LABEL}="${optOut}" is not valid: use "false" to opt the pod out of mcp-warden injection (or remove the label)`,
    };
  }
  if (pod.spec?.hostNetwork === true) {
    const selecting = index.selecting(namespace, labels);
    const warnings =
      selecting.length > 0
        ? [
            `pod uses hostNetwork, so mcp-warden does not inject it: McpPolicy ${selecting.map((p) => p.name).join(", ")} is NOT enforced on this pod`,
          ]
        : [];
    return { kind: "skip", reason: "host_network", warnings };
  }
  if (hasSidecar(pod)) return { kind: "skip", reason: "already_injected", warnings: [] };
  const selecting = index.selecting(namespace, labels);
  if (selecting.length === 0) return { kind: "skip", reason: "not_selected", warnings: [] };
  if (selecting.length > 1) {
    const names = selecting.map((p) => p.name);
    return {
      kind: "reject",
      reason: "conflicting_policies",
      message:
        `pod is selected by ${names.length} McpPolicies in namespace ${namespace} (${names.join(", ")}), and a pod can be governed by only one: ` +
        `change their podSelectors so that exactly one selects it, or label the pod ${INJECT_POD_LABEL}=false to run it without mcp-warden`,
    };
  }
  return { kind: "inject", policy: selecting[0] as PolicyEntry };
}

export function hasSidecar(pod: V1Pod): boolean {
  return (pod.spec?.initContainers ?? []).some((c) => c.name === SIDECAR_CONTAINER);
}
