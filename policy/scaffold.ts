// A default-deny McpPolicy scaffold from a server's tools/list: every tool named and commented, read-only
// tools (by their MCP annotations) allowed, everything else denied until someone decides otherwise.
import { API_GROUP, API_VERSION, KIND, type McpPolicyResourceType, type ToolRuleSpec } from "./schema.ts";

export interface ListedTool {
  name: string;
  title?: string | undefined;
  description?: string | undefined;
  annotations?:
    | {
        readOnlyHint?: boolean;
        destructiveHint?: boolean;
        idempotentHint?: boolean;
        openWorldHint?: boolean;
        title?: string;
      }
    | undefined;
  inputSchema?: { properties?: Record<string, unknown>; required?: string[] } | undefined;
}

export function scaffoldPolicy(
  tools: readonly ListedTool[],
  name: string,
  namespace?: string,
): { resource: McpPolicyResourceType; comments: string[] } {
  const sorted = [...tools].sort((a, b) => a.name.localeCompare(b.name));
  const rules: ToolRuleSpec[] = sorted.map((tool) =>
    tool.annotations?.readOnlyHint === true && tool.annotations.destructiveHint !== true
      ? { name: tool.name, action: "allow" }
      : {
          name: tool.name,
          action: "deny",
          reason: `${tool.name} has not been reviewed for agents yet; ask an operator to allow it.`,
        },
  );
  const comments = sorted.map((tool) => {
    const parts = [oneLine(tool.description ?? tool.title ?? tool.annotations?.title ?? "(no description)")];
    const hints = Object.entries(tool.annotations ?? {})
      .filter(([key, value]) => key.endsWith("Hint") && value === true)
      .map(([key]) => key.replace(/Hint$/, ""));
    if (hints.length > 0) parts.push(`hints: ${hints.join(", ")}`);
    const args = Object.keys(tool.inputSchema?.properties ?? {});
    if (args.length > 0)
      parts.push(`args: ${args.map((a) => (tool.inputSchema?.required?.includes(a) ? `${a}*` : a)).join(", ")}`);
    return parts.join(" | ");
  });
  return {
    resource: {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: KIND,
      metadata: namespace ? { name, namespace } : { name },
      spec: { podSelector: { matchLabels: { app: name } }, mode: "Enforce", default: "deny", tools: rules },
    },
    comments,
  };
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}
