// The injection decision for one new pod: select the policy, validate overrides, plan, mutate, diff.
// Pure apart from reading the policy index: the admission server and the golden-file tests both
// call this, so the tests exercise exactly what the webhook answers.
import type { V1Pod } from "@kubernetes/client-node";
import type { PolicyEntry, PolicyIndex } from "../policy-index.ts";
import type { InjectorConfig } from "./config.ts";
import { injectPod } from "./mutate.ts";
import type { InjectionReason, InjectionResult } from "./outcome.ts";
import { readOverrides } from "./overrides.ts";
import { diffPatch, type PatchOperation } from "./patch.ts";
import { planInjection } from "./plan.ts";
import { selectPolicy } from "./selection.ts";

export interface InjectionOutcome {
  result: InjectionResult;
  reason: InjectionReason;
  /** For rejections: what is wrong and how to fix it (shown by kubectl). */
  message: string;
  /** Shown to whoever created the pod (AdmissionResponse.warnings). */
  warnings: string[];
  policy: PolicyEntry | undefined;
  patch: PatchOperation[];
  /** The pod as it will be created. */
  pod: V1Pod;
}

export function decideInjection(
  pod: V1Pod,
  namespace: string,
  index: PolicyIndex,
  config: InjectorConfig,
): InjectionOutcome {
  const unchanged = { patch: [], pod, message: "" };
  const selection = selectPolicy(pod, namespace, index, config);
  if (selection.kind === "skip")
    return {
      ...unchanged,
      result: "skipped",
      reason: selection.reason,
      warnings: selection.warnings,
      policy: undefined,
    };
  if (selection.kind === "reject")
    return {
      ...unchanged,
      result: "rejected",
      reason: selection.reason,
      message: selection.message,
      warnings: [],
      policy: undefined,
    };
  const { policy } = selection;
  const overrides = readOverrides(pod.metadata?.annotations);
  if (!overrides.ok) {
    return {
      ...unchanged,
      result: "rejected",
      reason: "invalid_override",
      message: overrides.problems.join("; "),
      warnings: [],
      policy,
    };
  }
  const planned = planInjection(pod, policy, overrides.overrides);
  if (!planned.ok)
    return { ...unchanged, result: "rejected", reason: planned.reason, message: planned.message, warnings: [], policy };
  const injected = injectPod(pod, planned.plan, namespace, config);
  return {
    result: "injected",
    reason: "injected",
    message: `mcp-warden sidecar injected: McpPolicy ${policy.name} governs container "${planned.plan.container}" on port ${planned.plan.port.containerPort}`,
    warnings: planned.plan.warnings,
    policy,
    patch: diffPatch(pod, injected),
    pod: injected,
  };
}
