// What is asked of the approvals for one held tool call, and what they can answer: the request
// (binding fields, how it may be decided, where the person at the client can be asked) and the
// outcomes, shared by the decision (approvals.ts) and the wait for it (approval-wait.ts).
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import type { ApprovalSettings, CompiledPolicy } from "../../policy/compile.ts";
import type { ElicitationTarget } from "./elicitation.ts";

export interface ApprovalRequest {
  policy: CompiledPolicy;
  settings: ApprovalSettings;
  tool: string;
  args: Record<string, unknown>;
  grant: string;
  /** The MCP session id (raw; bound by fingerprint). */
  session: string | undefined;
  /** Wait for a decision (a call whose answer can be held), or only look up and request one. */
  hold: boolean;
  /** Present when the person at the client can be asked on this call's stream. */
  elicit?: { target: ElicitationTarget; send: (message: Record<string, unknown>) => Promise<void> } | undefined;
  signal: AbortSignal;
  /** Told the McpApproval the call is bound to, once there is one. */
  onApproval?: (name: string) => void;
}

export type ApprovalOutcome =
  | { kind: "approved"; via: "Kubernetes" | "Elicitation"; approval: McpApprovalObject | undefined; decidedBy: string }
  | {
      kind: "denied";
      via: "Kubernetes" | "Elicitation";
      approval: string | undefined;
      decidedBy: string;
      reason: string | undefined;
    }
  | { kind: "expired"; approval: string }
  /** Another call used the approval this one waited on. */
  | { kind: "used"; approval: string }
  | { kind: "pending"; approval: string; waitedMs: number; held: boolean }
  | { kind: "unanswered"; waitedMs: number }
  | { kind: "unavailable"; why: string };

/** What looking up (or requesting) the McpApproval for a request found: a decision, a problem, or one to wait on. */
export type KubernetesLookup = { outcome: ApprovalOutcome } | { problem: string } | { approval: McpApprovalObject };

/** The outcome of an McpApproval a person denied. */
export function deniedOnKubernetes(approval: McpApprovalObject): ApprovalOutcome {
  return {
    kind: "denied",
    via: "Kubernetes",
    approval: `${approval.metadata.namespace ?? ""}/${approval.metadata.name}`,
    decidedBy: approval.status?.decidedBy ?? "an approver",
    reason: approval.status?.reason,
  };
}

/** An error as one short line for an outcome's `why`. */
export function shortError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
