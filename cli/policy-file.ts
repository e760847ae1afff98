// Reading a policy file for the CLI commands: McpPolicy YAML/JSON or a PolicyLayer v1 document.
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { compilePolicy, type CompiledPolicy } from "../policy/compile.ts";
import { parsePolicyText } from "../policy/load.ts";
import { formatProblem, PolicyError, type PolicyProblem } from "../policy/paths.ts";

export type PolicyFileResult = { ok: true; policy: CompiledPolicy } | { ok: false; problems: readonly PolicyProblem[] };

export async function compilePolicyFile(file: string): Promise<PolicyFileResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    return {
      ok: false,
      problems: [{ path: [], message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }],
    };
  }
  try {
    return { ok: true, policy: compilePolicy(parsePolicyText(text, basename(file, extname(file)))) };
  } catch (err) {
    if (err instanceof PolicyError) return { ok: false, problems: err.problems };
    throw err;
  }
}

export function printProblems(
  file: string,
  problems: readonly PolicyProblem[],
  out: NodeJS.WritableStream = process.stderr,
): void {
  for (const problem of problems) out.write(`${file}: ${formatProblem(problem)}\n`);
}
