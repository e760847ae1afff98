// The McpApproval CustomResourceDefinition, built from the zod schemas in policy/approval/schema.ts.
// `npm run generate:crds` writes it to crds/; a test fails when the two drift.
import { stringify } from "yaml";
import { API_GROUP, API_VERSION } from "../../policy/schema.ts";
import { APPROVAL_KIND, APPROVAL_PLURAL, McpApprovalSpec, McpApprovalStatus } from "../../policy/approval/schema.ts";
import { toStructuralSchema } from "./structural-schema.ts";

export const MCP_APPROVAL_CRD_NAME = `${APPROVAL_PLURAL}.${API_GROUP}`;
export const MCP_APPROVAL_CRD_FILE = `crds/${MCP_APPROVAL_CRD_NAME}.yaml`;

export function renderMcpApprovalCrd(): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: MCP_APPROVAL_CRD_NAME,
      labels: { "app.kubernetes.io/name": "mcp-warden", "app.kubernetes.io/part-of": "mcp-warden" },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: APPROVAL_KIND,
        listKind: `${APPROVAL_KIND}List`,
        plural: APPROVAL_PLURAL,
        singular: APPROVAL_KIND.toLowerCase(),
        shortNames: ["mcpa"],
        categories: ["mcp-warden"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Tool", type: "string", jsonPath: ".spec.tool", description: "The tool the agent wants to call." },
            { name: "Caller", type: "string", jsonPath: ".spec.caller", description: "Who calls (grant)." },
            { name: "Decision", type: "string", jsonPath: ".status.decision", description: "Approved or Denied; empty while pending." },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
            { name: "Policy", type: "string", jsonPath: ".spec.policy", priority: 1 },
            { name: "Decided-By", type: "string", jsonPath: ".status.decidedBy", priority: 1 },
            { name: "Used", type: "date", jsonPath: ".spec.use.at", priority: 1, description: "When the approved call was forwarded." },
            { name: "Expires", type: "string", jsonPath: ".spec.expiresAt", priority: 1 },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: "McpApproval asks a person to approve one exact MCP tool call that an McpPolicy's approve rule holds back.",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: toStructuralSchema(McpApprovalSpec),
                status: toStructuralSchema(McpApprovalStatus),
              },
            },
          },
        },
      ],
    },
  };
}

export function renderMcpApprovalCrdYaml(): string {
  const header = "# Generated from policy/approval/schema.ts by scripts/generate-crds.ts (npm run generate:crds). Do not edit.\n";
  // A document start of its own: `helm show crds` joins the chart's CRD files without one.
  return header + "---\n" + stringify(renderMcpApprovalCrd(), { lineWidth: 0 });
}
