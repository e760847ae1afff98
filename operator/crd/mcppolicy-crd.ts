// The McpPolicy CustomResourceDefinition, built from the zod schema in policy/schema.ts (the one
// source of truth). `npm run generate:crds` writes it to crds/; a test fails when the two drift.
import { stringify } from "yaml";
import { API_GROUP, API_VERSION, KIND, McpPolicySpec, McpPolicyStatus } from "../../policy/schema.ts";
import { toStructuralSchema } from "./structural-schema.ts";

export const MCP_POLICY_PLURAL = "mcppolicies";
export const MCP_POLICY_CRD_NAME = `${MCP_POLICY_PLURAL}.${API_GROUP}`;
/** Where the generated CRD is checked in, relative to the repository root. */
export const MCP_POLICY_CRD_FILE = `crds/${MCP_POLICY_CRD_NAME}.yaml`;

const readyCondition = '.status.conditions[?(@.type=="Ready")]';

export function renderMcpPolicyCrd(): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: MCP_POLICY_CRD_NAME,
      labels: { "app.kubernetes.io/name": "mcp-warden", "app.kubernetes.io/part-of": "mcp-warden" },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: MCP_POLICY_PLURAL,
        singular: KIND.toLowerCase(),
        shortNames: ["mcpp"],
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
            { name: "Mode", type: "string", jsonPath: ".spec.mode", description: "Enforce blocks; Audit only logs and counts." },
            { name: "Default", type: "string", jsonPath: ".spec.default", description: "What happens to tools no rule names." },
            { name: "Ready", type: "string", jsonPath: `${readyCondition}.status` },
            { name: "Reason", type: "string", jsonPath: `${readyCondition}.reason`, priority: 1 },
            { name: "Selected", type: "integer", jsonPath: ".status.selectedPods", description: "Running pods the policy selects." },
            { name: "Enforced", type: "integer", jsonPath: ".status.enforcedPods", description: "Selected pods that run the sidecar." },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: "McpPolicy decides which MCP tool calls the agents may make to the MCP servers in the pods it selects.",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: toStructuralSchema(McpPolicySpec),
                status: toStructuralSchema(McpPolicyStatus),
              },
            },
          },
        },
      ],
    },
  };
}

export function renderMcpPolicyCrdYaml(): string {
  const header = "# Generated from policy/schema.ts by scripts/generate-crds.ts (npm run generate:crds). Do not edit.\n";
  // A document start of its own: `helm show crds` joins the chart's CRD files without one.
  return header + "---\n" + stringify(renderMcpPolicyCrd(), { lineWidth: 0 });
}
