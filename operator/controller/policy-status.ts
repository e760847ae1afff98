// The status of an McpPolicy from what the controller observed, as a pure function. Conditions
// follow the Kubernetes conventions: observedGeneration on each, lastTransitionTime kept while the
// status stays the same, CamelCase reasons, messages that say what to do.
//   Ready               True Accepted | False InvalidRule, ConflictingSelector, InjectionDisabled
//   PodsEnforced        True AllPodsEnforced, NoPodsSelected | False PodsWithoutSidecar
//   UpstreamPortExposed True ContainerDeclaresUpstreamPort | False NotDeclared
//   DefinitionsPinned   True DefinitionsMatch | False DefinitionsDrifted | Unknown PinsOff (only with spec.pins)
import type { McpPolicyStatusType, PolicyConditionType } from "../../policy/schema.ts";
import { formatProblem, type PolicyProblem } from "../../policy/paths.ts";
import { INJECTION_ENABLED, INJECTION_NAMESPACE_LABEL } from "../names.ts";
import { readInjectionStatus } from "../injector/mutate.ts";
import type { PodSummary } from "./pod-summary.ts";

export type Compilation = { ok: true; digest: string } | { ok: false; problems: readonly PolicyProblem[] };

export interface PolicyConflict {
  /** The other policy that also selects pods of this one. */
  policy: string;
  /** A pod both select, or undefined when the selectors are identical. */
  pod: string | undefined;
}

export interface StatusInput {
  name: string;
  namespace: string;
  generation: number;
  previous: McpPolicyStatusType | undefined;
  compilation: Compilation;
  namespaceEnabled: boolean;
  hasSelector: boolean;
  /** Live pods this policy's podSelector selects. */
  pods: PodSummary[];
  conflicts: PolicyConflict[];
  now: number;
  /** DefinitionsPinned from the sidecars' drift reports (drift-reports.ts); absent without spec.pins. */
  definitionsPinned?: ConditionBody | undefined;
}

export const UNGUARDED_LIMIT = 20;
const MESSAGE_LIMIT = 4096;

export function computePolicyStatus(input: StatusInput): McpPolicyStatusType {
  const { name, pods } = input;
  const enforced = pods.filter((p) => enforces(p, name));
  const unguarded = pods
    .filter((p) => !enforces(p, name))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const conditions: PolicyConditionType[] = [
    readyCondition(input, enforced.length),
    podsCondition(input, unguarded),
    exposedCondition(input, enforced),
    ...(input.definitionsPinned ? [input.definitionsPinned] : []),
  ].map((c) => withTransitionTime(c, input));
  return {
    observedGeneration: input.generation,
    conditions,
    selectedPods: pods.length,
    enforcedPods: enforced.length,
    unguardedPods: unguarded.slice(0, UNGUARDED_LIMIT).map((p) => p.metadata.name),
    ...(input.compilation.ok ? { policyDigest: input.compilation.digest } : {}),
  };
}

/** A pod enforces a policy when it runs the sidecar that the injector configured for it. */
export function enforces(pod: PodSummary, policy: string): boolean {
  return pod.hasSidecar && readInjectionStatus(pod.metadata.annotations)?.policy === policy;
}

type ConditionBody = Omit<PolicyConditionType, "lastTransitionTime" | "observedGeneration">;

function readyCondition(input: StatusInput, enforcedCount: number): ConditionBody {
  const { compilation, namespace } = input;
  if (!compilation.ok) {
    const shown = compilation.problems.slice(0, 10).map(formatProblem).join("; ");
    const more = compilation.problems.length > 10 ? ` (and ${compilation.problems.length - 10} more)` : "";
    return {
      type: "Ready",
      status: "False",
      reason: "InvalidRule",
      message: cut(
        `${shown}${more}. The sidecars keep enforcing the last valid version; new sidecars deny every call until this is fixed.`,
      ),
    };
  }
  if (input.conflicts.length > 0) {
    const described = input.conflicts
      .map((c) =>
        c.pod ? `McpPolicy ${c.policy} also selects pod ${c.pod}` : `McpPolicy ${c.policy} has the same podSelector`,
      )
      .join("; ");
    return {
      type: "Ready",
      status: "False",
      reason: "ConflictingSelector",
      message: cut(
        `${described}. New pods selected by more than one McpPolicy are rejected: make the podSelectors select disjoint pods.`,
      ),
    };
  }
  if (!input.namespaceEnabled) {
    return {
      type: "Ready",
      status: "False",
      reason: "InjectionDisabled",
      message: `Namespace ${namespace} does not have the label ${INJECTION_NAMESPACE_LABEL}=${INJECTION_ENABLED}, so no sidecar is injected and this policy is not enforced: kubectl label namespace ${namespace} ${INJECTION_NAMESPACE_LABEL}=${INJECTION_ENABLED}`,
    };
  }
  const selection = input.hasSelector
    ? `${enforcedCount} of ${input.pods.length} selected pods enforce it`
    : "it selects no pods (spec.podSelector is empty)";
  return {
    type: "Ready",
    status: "True",
    reason: "Accepted",
    message: `Policy compiled (digest ${compilation.digest}); ${selection}.`,
  };
}

function podsCondition(input: StatusInput, unguarded: PodSummary[]): ConditionBody {
  if (input.pods.length === 0)
    return { type: "PodsEnforced", status: "True", reason: "NoPodsSelected", message: "No running pod is selected." };
  if (unguarded.length === 0)
    return {
      type: "PodsEnforced",
      status: "True",
      reason: "AllPodsEnforced",
      message: `All ${input.pods.length} selected pods run the sidecar.`,
    };
  const hostNetwork = unguarded.filter((p) => p.hostNetwork);
  const restartable = unguarded.filter((p) => !p.hostNetwork);
  const parts: string[] = [];
  if (restartable.length > 0) {
    const names = restartable
      .slice(0, 10)
      .map((p) => p.metadata.name)
      .join(", ");
    const more = restartable.length > 10 ? ` and ${restartable.length - 10} more` : "";
    parts.push(
      `${restartable.length} selected pod${restartable.length === 1 ? "" : "s"} run${restartable.length === 1 ? "s" : ""} without the sidecar ` +
        `(created before the policy, before the namespace was labelled, or under another policy): ${names}${more}. ` +
        `Restart ${restartable.length === 1 ? "it" : "them"} to inject it: ${fixes(restartable, input.namespace).join("; ")}`,
    );
  }
  if (hostNetwork.length > 0) {
    parts.push(
      `${hostNetwork
        .map((p) => p.metadata.name)
        .slice(0, 10)
        .join(
          ", ",
        )} use${hostNetwork.length === 1 ? "s" : ""} hostNetwork and cannot get the sidecar: exclude them from spec.podSelector or run them without hostNetwork.`,
    );
  }
  return { type: "PodsEnforced", status: "False", reason: "PodsWithoutSidecar", message: cut(parts.join(" ")) };
}

function exposedCondition(input: StatusInput, enforced: PodSummary[]): ConditionBody {
  const exposed = enforced.filter((pod) => {
    const status = readInjectionStatus(pod.metadata.annotations);
    return (
      status !== undefined &&
      status.profile === "generic" &&
      (pod.ports[status.container] ?? []).includes(status.upstreamPort)
    );
  });
  if (exposed.length === 0)
    return {
      type: "UpstreamPortExposed",
      status: "False",
      reason: "NotDeclared",
      message: "No MCP container declares its loopback port.",
    };
  const status = readInjectionStatus(exposed[0]?.metadata.annotations);
  return {
    type: "UpstreamPortExposed",
    status: "True",
    reason: "ContainerDeclaresUpstreamPort",
    message: cut(
      `The MCP container of ${exposed
        .map((p) => p.metadata.name)
        .slice(0, 10)
        .join(", ")} declares port ${status?.upstreamPort}, the server's own port behind the sidecar: ` +
        `if the server listens on all interfaces, clients can reach it without the policy. Make it listen on 127.0.0.1 only and remove the port from the container.`,
    ),
  };
}

/** The commands that restart the unguarded pods, one per controlling workload. */
export function fixes(pods: PodSummary[], namespace: string): string[] {
  const commands = new Set<string>();
  for (const pod of pods) {
    const owner = pod.metadata.owner;
    const hash = pod.metadata.labels?.["pod-template-hash"];
    if (owner?.kind === "ReplicaSet" && hash && owner.name.endsWith(`-${hash}`)) {
      commands.add(`kubectl rollout restart deployment/${owner.name.slice(0, -hash.length - 1)} -n ${namespace}`);
    } else if (owner && ["StatefulSet", "DaemonSet", "Deployment"].includes(owner.kind)) {
      commands.add(`kubectl rollout restart ${owner.kind.toLowerCase()}/${owner.name} -n ${namespace}`);
    } else if (owner) {
      commands.add(
        `kubectl delete pod ${pod.metadata.name} -n ${namespace} (its ${owner.kind} ${owner.name} recreates it)`,
      );
    } else {
      commands.add(`kubectl delete pod ${pod.metadata.name} -n ${namespace} and create it again`);
    }
  }
  return [...commands].slice(0, 5);
}

function withTransitionTime(condition: ConditionBody, input: StatusInput): PolicyConditionType {
  const previous = input.previous?.conditions?.find((c) => c.type === condition.type);
  const lastTransitionTime =
    previous && previous.status === condition.status
      ? previous.lastTransitionTime
      : new Date(input.now).toISOString().replace(/\.\d{3}Z$/, "Z");
  return { ...condition, observedGeneration: input.generation, lastTransitionTime };
}

function cut(text: string): string {
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT - 1)}…` : text;
}

/** Whether two statuses say the same (what the controller compares before writing). */
export function sameStatus(a: McpPolicyStatusType | undefined, b: McpPolicyStatusType): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(status: McpPolicyStatusType | undefined): unknown {
  if (!status) return undefined;
  return {
    ...status,
    conditions: [...(status.conditions ?? [])]
      .sort((x, y) => x.type.localeCompare(y.type))
      .map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        observedGeneration: c.observedGeneration,
        lastTransitionTime: c.lastTransitionTime,
      })),
    unguardedPods: status.unguardedPods ?? [],
    policyDigest: status.policyDigest ?? null,
  };
}
