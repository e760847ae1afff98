// Policies whose podSelectors overlap. A pod selected by two policies is refused at admission, so
// the controller reports each overlap on both policies: by a pod they both select, or, before any
// such pod exists, by identical selectors.
import { formatLabelSelector } from "../../kube/label-selector.ts";
import { INJECT_POD_LABEL } from "../names.ts";
import type { PolicyEntry } from "../policy-index.ts";
import type { PolicyConflict } from "./policy-status.ts";
import { isLive, type PodSummary } from "./pod-summary.ts";

/** The pods a policy governs: live, selected, and not opted out (unless the policy requires injection). */
export function governedBy(policy: PolicyEntry, pods: readonly PodSummary[]): PodSummary[] {
  return pods.filter(
    (p) =>
      isLive(p) &&
      (policy.injection.required || p.metadata.labels?.[INJECT_POD_LABEL] !== "false") &&
      policy.matches(p.metadata.labels),
  );
}

/** Conflicts of each policy of one namespace, by policy name. */
export function findConflicts(
  policies: readonly PolicyEntry[],
  pods: readonly PodSummary[],
): Map<string, PolicyConflict[]> {
  const found = new Map<string, Map<string, PolicyConflict>>();
  const add = (policy: string, other: string, pod: string | undefined) => {
    let mine = found.get(policy);
    if (!mine) found.set(policy, (mine = new Map<string, PolicyConflict>()));
    if (!mine.has(other)) mine.set(other, { policy: other, pod });
  };
  for (const pod of pods) {
    if (!isLive(pod) || pod.metadata.labels?.[INJECT_POD_LABEL] === "false") continue;
    const selecting = policies.filter((p) => p.matches(pod.metadata.labels)).map((p) => p.name);
    if (selecting.length < 2) continue;
    for (const a of selecting) for (const b of selecting) if (a !== b) add(a, b, pod.metadata.name);
  }
  const bySelector = new Map<string, string[]>();
  for (const policy of policies) {
    if (!policy.selector) continue;
    const key = formatLabelSelector(policy.selector);
    if (key === "<everything>") continue;
    bySelector.set(key, [...(bySelector.get(key) ?? []), policy.name]);
  }
  for (const names of bySelector.values()) {
    for (const a of names) for (const b of names) if (a !== b) add(a, b, undefined);
  }
  return new Map(
    [...found].map(([policy, conflicts]) => [
      policy,
      [...conflicts.values()].sort((x, y) => x.policy.localeCompare(y.policy)),
    ]),
  );
}
