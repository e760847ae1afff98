// What the sidecar's approval logic reads from an McpApproval, apart from the Kubernetes client that
// fetches it, so that a sidecar without Kubernetes approvals does not load that client.
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import type { ApprovalBinding } from "../../policy/approval/binding.ts";

/** The McpApprovals of the namespace cannot be read right now (API down, cache not filled in time). */
export class ApprovalsUnavailableError extends Error {
  override name = "ApprovalsUnavailableError";
}

/** The request an approval is bound to, as its spec records it. */
export function bindingOf(approval: McpApprovalObject): ApprovalBinding {
  const { spec } = approval;
  return {
    policy: spec.policy,
    policyGeneration: spec.policyGeneration,
    tool: spec.tool,
    caller: spec.caller,
    session: spec.session,
    argsDigest: spec.argsDigest,
  };
}
