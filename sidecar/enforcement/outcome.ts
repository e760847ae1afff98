// The sidecar's vocabulary for a decided tool call: the policy engine's decisions plus the reasons
// only the sidecar can give (no policy loaded yet, a tool name that is not a name).
import type { DecisionKind, DecisionReason } from "../../policy/decision.ts";
import type { RefundClass } from "../../policy/schema-refund.ts";

export type SidecarReason =
  | DecisionReason
  /** No policy has been loaded yet: every call is denied (fail closed). */
  | "no_policy"
  /** params.name is not a name the policy or the upstream knows and not a plain tool name (look-alikes). */
  | "invalid_tool_name"
  /** A person approved the call (allowed). */
  | "approved"
  /** A person denied the call, or the approval expired before anyone decided (denied). */
  | "approval_denied"
  | "approval_expired"
  /** No approval could be requested: no Kubernetes API, or it cannot be reached (approval_required). */
  | "approval_unavailable"
  /** spec.pins: the tool's live definition is not the pinned one (denied in Enforce). */
  | "definition_drift"
  /** spec.pins.newTools: hide, and the tool has no pin. */
  | "definition_unpinned"
  /** The tool is pinned and the sidecar has not seen its definition (fail closed). */
  | "definition_unknown";

/** What happened to a call after the decision, for the audit log. */
export type UpstreamOutcome =
  | "ok" // a result
  | "tool_error" // a result with isError: the tool ran and failed
  | "input_required" // 2026-07-28 InputRequiredResult: the client will retry with input
  | "rpc_error" // a JSON-RPC error answer
  | "http_error" // an HTTP error status
  | "connection_error" // the upstream could not be reached or broke off
  | "cancelled" // the client went away first
  | "unknown" // answered on a stream the sidecar did not read to the end
  | "not_forwarded"; // decided by the sidecar

export interface Verdict {
  readonly decision: DecisionKind;
  readonly reason: SidecarReason;
  /** JSON Pointer into the policy, or a marker such as "(default deny)". */
  readonly rule: string;
  /** For the agent; empty when allowed. */
  readonly message: string;
  readonly retryAfterSeconds?: number | undefined;
}

/** Failed calls give their rate-limit reservation back (the tool did not run, or not to the end). */
export function refundable(outcome: UpstreamOutcome, httpStatus: number | undefined): boolean {
  if (outcome === "rpc_error" || outcome === "connection_error" || outcome === "input_required") return true;
  return outcome === "http_error" && httpStatus !== undefined && httpStatus >= 500;
}

/** Which `refundOn` class an outcome is, if any: the server failed the call, or the tool reported
 * that it failed (an isError result). Other outcomes are never refunded. */
export function refundClassOf(outcome: UpstreamOutcome, httpStatus: number | undefined): RefundClass | undefined {
  if (refundable(outcome, httpStatus)) return "upstreamError";
  return outcome === "tool_error" ? "toolError" : undefined;
}
