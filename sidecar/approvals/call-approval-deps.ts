// What deciding a held tool call's approval needs of the sidecar around it: the approvals, the
// enforcer (to admit an approved call's limits, record its verdict, or give limits back), the policy
// in force (and its rate-limit store) and the log. The proxy's dependencies provide all of it.
import type { Logger } from "pino";
import type { Enforcer } from "../enforcement/enforcer.ts";
import type { PolicyHolder } from "../policy-holder.ts";
import type { ApprovalRuntime } from "./runtime.ts";

export interface CallApprovalDeps {
  approvalRuntime: ApprovalRuntime;
  enforcer: Pick<Enforcer, "admitApproved" | "settleApproval" | "release">;
  holder: Pick<PolicyHolder, "current" | "store">;
  log: Logger;
}
