// The McpApproval CustomResourceDefinition, built from the zod schemas in policy/approval/schema.ts.
// `npm run generate:crds` writes it to crds/; a test fails when the two drift.
import { API_GROUP } from "../../policy/schema.ts";
import { APPROVAL_KIND, APPROVAL_PLURAL, McpApprovalSpec, McpApprovalStatus } from "../../policy/approval/schema.ts";
import { customResourceDefinitionYaml, renderCustomResourceDefinition } from "./custom-resource-definition.ts";

export const MCP_APPROVAL_CRD_NAME = `${APPROVAL_PLURAL}.${API_GROUP}`;
export const MCP_APPROVAL_CRD_FILE = `crds/${MCP_APPROVAL_CRD_NAME}.yaml`;

export function renderMcpApprovalCrd(): Record<string, unknown> {
  return renderCustomResourceDefinition({
    kind: APPROVAL_KIND,
    plural: APPROVAL_PLURAL,
    shortName: "mcpa",
    description:
      "McpApproval asks a person to approve one exact MCP tool call that an McpPolicy's approve rule holds back.",
    printerColumns: [
      { name: "Tool", type: "string", jsonPath: ".spec.tool", description: "The tool the agent wants to call." },
      { name: "Caller", type: "string", jsonPath: ".spec.caller", description: "Who calls (grant)." },
      {
        name: "Decision",
        type: "string",
        jsonPath: ".status.decision",
        description: "Approved or Denied; empty while pending.",
      },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      { name: "Policy", type: "string", jsonPath: ".spec.policy", priority: 1 },
      { name: "Decided-By", type: "string", jsonPath: ".status.decidedBy", priority: 1 },
      {
        name: "Used",
        type: "date",
        jsonPath: ".spec.use.at",
        priority: 1,
        description: "When the approved call was forwarded.",
      },
      { name: "Expires", type: "string", jsonPath: ".spec.expiresAt", priority: 1 },
    ],
    spec: McpApprovalSpec,
    status: McpApprovalStatus,
  });
}

export function renderMcpApprovalCrdYaml(): string {
  return customResourceDefinitionYaml(renderMcpApprovalCrd(), "policy/approval/schema.ts");
}
