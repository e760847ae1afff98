// The McpPolicy CustomResourceDefinition, built from the zod schema in policy/schema.ts (the one
// source of truth). `npm run generate:crds` writes it to crds/; a test fails when the two drift.
import { API_GROUP, KIND, McpPolicySpec, McpPolicyStatus } from "../../policy/schema.ts";
import { customResourceDefinitionYaml, renderCustomResourceDefinition } from "./custom-resource-definition.ts";

export const MCP_POLICY_PLURAL = "mcppolicies";
export const MCP_POLICY_CRD_NAME = `${MCP_POLICY_PLURAL}.${API_GROUP}`;
/** Where the generated CRD is checked in, relative to the repository root. */
export const MCP_POLICY_CRD_FILE = `crds/${MCP_POLICY_CRD_NAME}.yaml`;

const readyCondition = '.status.conditions[?(@.type=="Ready")]';

export function renderMcpPolicyCrd(): Record<string, unknown> {
  return renderCustomResourceDefinition({
    kind: KIND,
    plural: MCP_POLICY_PLURAL,
    shortName: "mcpp",
    description:
      "McpPolicy decides which MCP tool calls the agents may make to the MCP servers in the pods it selects.",
    printerColumns: [
      {
        name: "Mode",
        type: "string",
        jsonPath: ".spec.mode",
        description: "Enforce blocks; Audit only logs and counts.",
      },
      {
        name: "Default",
        type: "string",
        jsonPath: ".spec.default",
        description: "What happens to tools no rule names.",
      },
      { name: "Ready", type: "string", jsonPath: `${readyCondition}.status` },
      { name: "Reason", type: "string", jsonPath: `${readyCondition}.reason`, priority: 1 },
      {
        name: "Selected",
        type: "integer",
        jsonPath: ".status.selectedPods",
        description: "Running pods the policy selects.",
      },
      {
        name: "Enforced",
        type: "integer",
        jsonPath: ".status.enforcedPods",
        description: "Selected pods that run the sidecar.",
      },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    spec: McpPolicySpec,
    status: McpPolicyStatus,
  });
}

export function renderMcpPolicyCrdYaml(): string {
  return customResourceDefinitionYaml(renderMcpPolicyCrd(), "policy/schema.ts");
}
