// `mcp-warden policy lint FILE…`: exit 0 when every policy is valid, 1 with every problem otherwise.
import { parseArgs } from "node:util";
import { formatProblem } from "../policy/paths.ts";
import { compilePolicyFile, printProblems } from "./policy-file.ts";
import { UsageError } from "./usage-error.ts";

export const lintUsage = "mcp-warden policy lint FILE... [--quiet]";

export async function runPolicyLint(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { quiet: { type: "boolean", short: "q" } },
  });
  if (positionals.length === 0) throw new UsageError("policy lint needs at least one FILE");
  let failed = 0;
  for (const file of positionals) {
    const result = await compilePolicyFile(file);
    if (!result.ok) {
      failed++;
      printProblems(file, result.problems);
      continue;
    }
    for (const warning of result.policy.warnings) process.stderr.write(`${file}: warning: ${formatProblem(warning)}\n`);
    if (!values.quiet) {
      const p = result.policy;
      process.stdout.write(
        `${file}: ok (${p.format} ${p.name}, ${p.spec.tools?.length ?? 0} tool rules, default ${p.spec.default}, mode ${p.mode})\n`,
      );
    }
  }
  return failed === 0 ? 0 : 1;
}
