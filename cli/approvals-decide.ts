// Approving or denying an McpApproval: the decision goes on its status subresource with the
// approver's identity as the API server reports it (SelfSubjectReview: never what the approver says
// about themselves) and the resourceVersion read, so a decision made meanwhile by someone else is
// never overwritten. Only a pending approval that has not expired can be decided.
import { describeApiError, isConflict, isNotFound, statusCodeOf } from "../kube/api-errors.ts";
import type { KubeHttp } from "../kube/http.ts";
import { McpApprovalClient, parseApproval, whoAmI, type McpApprovalObject } from "../kube/mcp-approvals.ts";
import { approvalState } from "../policy/approval/state.ts";
import { APPROVER_ROLE } from "../operator/rbac/approver-role.ts";

/** A decision that cannot be made; the message says why and what to do. */
export class DecisionError extends Error {
  override name = "DecisionError";
}

export interface Decision {
  namespace: string;
  name: string;
  decision: "Approved" | "Denied";
  reason?: string | undefined;
  now?: () => number;
  /** How the approver runs mcp-warden ("kubectl mcp-warden" as a plugin), for hints. */
  program?: string;
}

export async function decideApproval(
  http: KubeHttp,
  d: Decision,
): Promise<{ approval: McpApprovalObject; decidedBy: string }> {
  const client = new McpApprovalClient(http);
  const where = `McpApproval ${d.namespace}/${d.name}`;
  const current = await read(client, d, where);
  const now = d.now ?? Date.now;
  const state = approvalState(current, now());
  if (state !== "Pending") throw new DecisionError(`${where} cannot be decided: ${describeState(current, state)}`);
  let username: string;
  try {
    username = (await whoAmI(http)).username;
  } catch (error) {
    throw new DecisionError(`cannot learn who you are from the API server: ${describeApiError(error)}`);
  }
  const status = {
    decision: d.decision,
    decidedBy: username,
    decidedAt: new Date(now()).toISOString(),
    ...(d.reason ? { reason: d.reason } : {}),
  };
  try {
    const parsed = parseApproval(await client.replaceStatus({ ...current, status }));
    return { approval: parsed.ok ? parsed.approval : { ...current, status }, decidedBy: username };
  } catch (error) {
    if (statusCodeOf(error) === 403) {
      const reason = describeApiError(error);
      if (/decidedBy|own tool call/.test(reason))
        throw new DecisionError(`${where}: the API server refused the decision: ${reason}`);
      throw new DecisionError(
        `you (${username}) may not decide McpApprovals in namespace ${d.namespace}. ` +
          `Approvers are granted the ClusterRole ${APPROVER_ROLE} there, e.g.: kubectl create rolebinding ${APPROVER_ROLE} --clusterrole=${APPROVER_ROLE} --user=${username} -n ${d.namespace}`,
      );
    }
    if (isConflict(error)) {
      const fresh = await read(client, d, where);
      throw new DecisionError(
        `${where} changed while you decided: ${describeState(fresh, approvalState(fresh, now()))}`,
      );
    }
    if (isNotFound(error))
      throw new DecisionError(`${where} no longer exists (it expired and was removed, or was deleted)`);
    throw error;
  }
}

async function read(client: McpApprovalClient, d: Decision, where: string): Promise<McpApprovalObject> {
  let raw: unknown;
  try {
    raw = await client.get(d.namespace, d.name);
  } catch (error) {
    if (isNotFound(error))
      throw new DecisionError(
        `there is no ${where} (list them with: ${d.program ?? "mcp-warden"} approvals list -n ${d.namespace})`,
      );
    if (statusCodeOf(error) === 403)
      throw new DecisionError(
        `you may not read McpApprovals in namespace ${d.namespace} (${describeApiError(error)}); approvers need the ClusterRole ${APPROVER_ROLE} there`,
      );
    throw error;
  }
  const parsed = parseApproval(raw);
  if (!parsed.ok)
    throw new DecisionError(
      `${where} is not a valid McpApproval (${parsed.problem}); no sidecar will honour it, so there is nothing to decide`,
    );
  return parsed.approval;
}

function describeState(a: McpApprovalObject, state: ReturnType<typeof approvalState>): string {
  switch (state) {
    case "Used":
      return `it was already used (by ${a.spec.use?.by} at ${a.spec.use?.at}, ${a.spec.use?.via === "Elicitation" ? "approved at the client" : "approved here"})`;
    case "Expired":
      return `it expired at ${a.spec.expiresAt}; the agent has to call again to ask for a new approval`;
    case "Approved":
    case "Denied":
      return `it was already ${state.toLowerCase()} by ${a.status?.decidedBy} at ${a.status?.decidedAt}${a.status?.reason ? ` (${a.status.reason})` : ""}`;
    case "Pending":
      return "it is pending";
  }
}
