// The result rules of one forwarded tool call, applied to its answer by the answer inspector: the
// call's tool, arguments and caller (what the CEL conditions see) are known here, where the call was
// decided, so the answer is judged by the request it answers. In Audit mode the verdict is logged
// and the result passes untouched. Metrics count what was done; the audit line gets the verdict
// (detectors and match counts, never matched text). Notifications and requests the upstream sends on
// the call's stream are scanned with the same detectors (ADR 0140).
import { inspectResult, type ResultVerdict } from "../../policy/results/inspect.ts";
import type { DecidedCall } from "../tool-call.ts";
import type { SidecarMetrics } from "../observability/metrics.ts";

export interface ResultGuard {
  /** The result as the client is to see it; `bytes` is the size of the answer message, when known. */
  inspect(result: unknown, bytes: number | undefined): unknown;
  /** The verdict on the result, once inspected (for the audit line). */
  readonly verdict: ResultVerdict | undefined;
  /** The policy's size bound on the answer (Enforce mode), when it sets one. */
  readonly maxBytes: number | undefined;
  /** The result that stands for an answer larger than maxBytes, which is never read whole. */
  oversized(): unknown;
  /**
   * The params of a notification or request the upstream sent on the call's stream (a log message,
   * a progress message, a sampling request: what the tool read can be in them), or of the error
   * object that answers the call, scanned with the call's detectors: redacted, or
   * undefined (the notification is dropped) when a denyIf detector matches.
   */
  notification(params: unknown): unknown;
}

export function resultGuard(call: DecidedCall, metrics: SidecarMetrics): ResultGuard | undefined {
  const policy = call.policy;
  const plan = policy?.planFor(call.request.tool).results;
  if (!policy || !plan) return undefined;
  let verdict: ResultVerdict | undefined;
  const maxBytes = policy.mode === "Enforce" ? plan.maxBytes?.limit : undefined;
  const context = () => ({
    policy: policy.name,
    tool: call.request.tool,
    args: call.request.args,
    caller: call.context.caller,
  });
  return {
    get verdict() {
      return verdict;
    },
    maxBytes,
    oversized() {
      verdict = inspectResult(plan, null, { ...context(), bytes: (maxBytes ?? 0) + 1, partial: true });
      metrics.countResult(policy.name, call.toolLabel, verdict);
      return verdict.result;
    },
    notification(params) {
      if (policy.mode !== "Enforce") return params;
      const scanned = inspectResult({ ...plan, maxBytes: undefined, withholdIf: [] }, params, context());
      return scanned.action === "withheld" ? undefined : scanned.result;
    },
    inspect(result, bytes) {
      verdict = inspectResult(plan, result, { ...context(), bytes });
      if (policy.mode !== "Enforce") return result;
      metrics.countResult(policy.name, call.toolLabel, verdict);
      return verdict.result;
    },
  };
}
