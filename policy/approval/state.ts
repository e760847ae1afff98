// Where an approval stands at a given moment, in the words people use for it. Used by the CLI's
// listing, the operator's metrics and Events, and the sidecar's messages.
import type { McpApprovalResourceType } from "./schema.ts";

export type ApprovalState = "Pending" | "Approved" | "Denied" | "Used" | "Expired";

/** Used beats everything (the approval did its work); then expiry; then the decision. */
export function approvalState(approval: Pick<McpApprovalResourceType, "spec" | "status">, now: number): ApprovalState {
  if (approval.spec.use) return "Used";
  if (!(now < timeOf(approval.spec.expiresAt))) return "Expired"; // an unreadable time counts as past
  if (approval.status?.decision === "Approved") return "Approved";
  if (approval.status?.decision === "Denied") return "Denied";
  return "Pending";
}

/** Milliseconds since the epoch of an RFC 3339 time; NaN for anything else (never "usable"). */
export function timeOf(text: string | undefined): number {
  if (text === undefined) return Number.NaN;
  return Date.parse(text);
}

/** "kubectl mcp-warden approvals approve NAME -n NS": what a person runs to approve. */
export function approveCommand(namespace: string, name: string): string {
  return `kubectl mcp-warden approvals approve ${name} -n ${namespace}`;
}
