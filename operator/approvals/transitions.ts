// What changed between two versions of an McpApproval, in the vocabulary of the metrics and Events:
// a decision, a use. Pure, so the controller's bookkeeping is tested without an API server.
import type { McpApprovalResourceType } from "../../policy/approval/schema.ts";

export type ApprovalOutcome = "approved" | "denied" | "expired" | "timed_out" | "used";
export const APPROVAL_OUTCOMES: readonly ApprovalOutcome[] = ["approved", "denied", "expired", "timed_out", "used"];

type Approval = Pick<McpApprovalResourceType, "spec" | "status">;

export interface Transition {
  outcome: "approved" | "denied" | "used";
  reason: string;
  message: string;
}

export function transitions(old: Approval | undefined, current: Approval): Transition[] {
  const out: Transition[] = [];
  const decision = current.status?.decision;
  if (decision && decision !== old?.status?.decision) {
    const why = current.status?.reason ? `: ${current.status.reason}` : "";
    out.push(
      decision === "Approved"
        ? { outcome: "approved", reason: "Approved", message: `Approved by ${current.status?.decidedBy}${why}` }
        : { outcome: "denied", reason: "Denied", message: `Denied by ${current.status?.decidedBy}${why}` },
    );
  }
  const use = current.spec.use;
  if (use && !old?.spec.use) {
    const how = use.via === "Elicitation" ? "approved by the person at the client" : "approved here";
    out.push({ outcome: "used", reason: "Used", message: `The call was forwarded by ${use.by} (${how})` });
  }
  return out;
}

/** Whether an approval reaching its expiry counts as expired: nobody used or denied it. */
export function expiresUnused(approval: Approval): boolean {
  return !approval.spec.use && approval.status?.decision !== "Denied";
}

/** Whether an approval is still waiting for a person (for the pending gauge). */
export function isPending(approval: Approval, now: number): boolean {
  return !approval.spec.use && approval.status?.decision === undefined && now < Date.parse(approval.spec.expiresAt);
}
