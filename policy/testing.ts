// Helpers shared by the policy tests: build a compiled policy from YAML, and collect load problems.
import type { CelCaller } from "./cel/environment.ts";
import { compilePolicy, type CompiledPolicy } from "./compile.ts";
import type { ToolCall } from "./decision.ts";
import { parsePolicyText } from "./load.ts";
import { formatProblem, PolicyError } from "./paths.ts";

/** An McpPolicy around a spec written as YAML (indented under `spec:`). */
export function mcpPolicy(specYaml: string, name = "kestra"): CompiledPolicy {
  return compilePolicy(parsePolicyText(mcpPolicyText(specYaml, name), name));
}

export function mcpPolicyText(specYaml: string, name = "kestra"): string {
  const indented = specYaml
    .trim()
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
  return `apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: ${name}, namespace: agents, generation: 3}\nspec:\n${indented}\n`;
}

/** Every problem `text` has when loaded and compiled, formatted; [] when it is valid. */
export function problemsOf(text: string): string[] {
  try {
    compilePolicy(parsePolicyText(text, "doc"));
    return [];
  } catch (err) {
    if (err instanceof PolicyError) return err.problems.map(formatProblem);
    throw err;
  }
}

export function caller(grant: string, extra: Partial<CelCaller> = {}): CelCaller {
  return { grant, sub: grant, groups: [], claims: {}, ...extra };
}

export function call(
  tool: string,
  args: Record<string, unknown> = {},
  who = caller("alice"),
  session?: string,
): ToolCall {
  return { tool, args, caller: who, session };
}
