// The McpApproval resource as zod schemas: the source of the CRD (crds/mcpapprovals.mcpwarden.io.yaml),
// of the TypeScript types, and of the validation the sidecar and the CLI apply to every approval they
// read (an object someone forged or edited by hand is refused, not trusted).
//
// A sidecar creates the approval (spec: the exact request), a person decides it on the status
// subresource (Kubernetes RBAC says who may), and a sidecar records its single use in spec.use. The
// CEL rules make the request immutable, the use and the decision final.
import { z } from "zod";
import { API_GROUP, API_VERSION, ObjectMeta } from "../schema.ts";
import { ARGS_DIGEST_PATTERN } from "./binding.ts";

export const APPROVAL_KIND = "McpApproval";
export const APPROVAL_PLURAL = "mcpapprovals";
export const APPROVAL_API_VERSION = `${API_GROUP}/${API_VERSION}`;
/** Label on every McpApproval: the McpPolicy that asked for it (sidecars watch their policy's). */
export const APPROVAL_POLICY_LABEL = `${API_GROUP}/policy`;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const timestamp = () => z.iso.datetime({ offset: true }).max(64);

export const ApprovalUse = z
  .strictObject({
    at: timestamp().describe("When the call was forwarded."),
    by: z.string().min(1).max(253).describe("The sidecar (pod) that forwarded it."),
    via: z
      .enum(["Kubernetes", "Elicitation"])
      .describe("Kubernetes: approved on this resource; Elicitation: approved by the person at the client."),
  })
  .describe("The one use of this approval, recorded by the sidecar that forwarded the call.");

const IMMUTABLE_FIELDS = [
  "policy",
  "policyGeneration",
  "tool",
  "caller",
  "argsDigest",
  "args",
  "waitUntil",
  "expiresAt",
] as const;

export const McpApprovalSpec = z
  .strictObject({
    policy: z
      .string()
      .regex(DNS_SUBDOMAIN, "must be an McpPolicy name")
      .max(253)
      .describe("The McpPolicy (in this namespace) whose approve rule asked for this approval."),
    policyGeneration: z
      .int()
      .min(1)
      .describe("The policy's generation when the call was made; a changed policy needs a new approval."),
    tool: z.string().min(1).max(256).describe("The tool the agent wants to call."),
    caller: z.string().min(1).max(1024).describe("Who calls: the grant (API-key name or token subject)."),
    session: z
      .string()
      .regex(/^[0-9a-f]{16}$/, "must be a session fingerprint (16 hex digits)")
      .optional()
      .describe("Fingerprint of the MCP session (as in the audit log); absent for sessionless transports."),
    argsDigest: z
      .string()
      .regex(ARGS_DIGEST_PATTERN, "must be 64 lower-case hex digits")
      .describe("SHA-256 of the arguments' canonical JSON (RFC 8785)."),
    args: z
      .string()
      .max(4096)
      .describe("Redacted preview of the arguments (canonical JSON; secrets removed, long values cut)."),
    waitUntil: timestamp().describe("Until when the agent's call waits for a decision."),
    expiresAt: timestamp().describe(
      "After this the approval can be neither decided nor used; the operator deletes it.",
    ),
    use: ApprovalUse.optional(),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: `${IMMUTABLE_FIELDS.map((f) => `self.${f} == oldSelf.${f}`).join(" && ")} && has(self.session) == has(oldSelf.session) && (!has(self.session) || self.session == oldSelf.session)`,
        message: "the request an approval is for cannot change: only spec.use may be added, once",
        reason: "FieldValueForbidden",
      },
      {
        rule: "!has(oldSelf.use) || (has(self.use) && self.use == oldSelf.use)",
        message: "spec.use records the approval's one use and cannot change or be removed",
        fieldPath: ".use",
        reason: "FieldValueForbidden",
      },
    ],
  })
  .describe("The exact tool call a person is asked to approve.");

export const McpApprovalStatus = z
  .strictObject({
    decision: z.enum(["Approved", "Denied"]).optional(),
    decidedBy: z.string().min(1).max(1024).optional().describe("Who decided, as the API server authenticated them."),
    decidedAt: timestamp().optional(),
    reason: z.string().max(1024).optional().describe("Why; shown to the agent when the call is denied."),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "has(self.decision) == has(self.decidedBy) && has(self.decision) == has(self.decidedAt)",
        message: "decision, decidedBy and decidedAt are set together",
        reason: "FieldValueRequired",
      },
      {
        rule: "!has(oldSelf.decision) || self == oldSelf",
        message: "a decision is final: the status of a decided approval cannot change",
        reason: "FieldValueForbidden",
      },
    ],
  })
  .describe("The decision, written by an approver on the status subresource.");

export const McpApprovalResource = z.strictObject({
  apiVersion: z.literal(APPROVAL_API_VERSION),
  kind: z.literal(APPROVAL_KIND),
  metadata: ObjectMeta,
  spec: McpApprovalSpec,
  status: McpApprovalStatus.optional(),
});

export type ApprovalUseType = z.infer<typeof ApprovalUse>;
export type McpApprovalSpecType = z.infer<typeof McpApprovalSpec>;
export type McpApprovalStatusType = z.infer<typeof McpApprovalStatus>;
export type McpApprovalResourceType = z.infer<typeof McpApprovalResource>;
