// McpPolicy documents as the tests and benchmarks write them: the spec in YAML (unindented), under the
// header a sidecar reads from its policy file. The one place that header is written.

export interface PolicyMetadata {
  namespace?: string;
  generation?: number;
}

/** An McpPolicy named `name` (in namespace `agents`, generation 1 unless told) with the given spec (YAML). */
export function mcpPolicy(spec: string, name = "kestra", metadata: PolicyMetadata = {}): string {
  const { namespace = "agents", generation = 1 } = metadata;
  return `apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: ${name}, namespace: ${namespace}, generation: ${generation}}\nspec:\n${spec.replace(/^/gm, "  ")}\n`;
}
