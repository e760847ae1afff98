// The text of policy/catalog/kestra-pins.ts from a Kestra tools/list (scripts/generate-kestra-pins.ts
// writes it; a test checks the checked-in file is what the fixture gives).
import { definitionDigest } from "../pins/definition-digest.ts";

export function kestraPinsSource(tools: readonly unknown[]): string {
  const lines = tools
    .map((t) => [(t as { name: string }).name, definitionDigest(t)] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, digest]) => `  ${name}: "${digest}",`);
  return [
    "// Generated from test/fixtures/kestra-tools-list.json by scripts/generate-kestra-pins.ts (npm run generate:kestra-pins). Do not edit.",
    "// The definition digests of the Kestra MCP server's 39 tools as the project's catalogue knows them.",
    "export const KESTRA_PINS: Readonly<Record<string, string>> = {",
    ...lines,
    "};",
    "",
  ].join("\n");
}
