// `mcp-warden policy test FILE --cases CASES.yaml [--tools TOOLS_LIST.json]`: runs table-driven cases
// against a policy; exit 1 on any mismatch (with a readable diff), 2 when the cases file itself is
// malformed. With --tools, `arguments: strict` is checked against the declared schemas in that file.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { CaseFile, runCases } from "../policy/case-runner.ts";
import { compilePolicyFile, printProblems } from "./policy-file.ts";
import { readToolsFile } from "./tools-file.ts";
import { UsageError } from "./usage-error.ts";

export const testUsage = "mcp-warden policy test FILE --cases CASES.yaml [--tools TOOLS_LIST.json]";

export async function runPolicyTest(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { cases: { type: "string" }, tools: { type: "string" } },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError("policy test needs exactly one FILE");
  if (!values.cases) throw new UsageError("policy test needs --cases CASES.yaml");
  const declared = await readToolsFile(values.tools);

  let raw: unknown;
  try {
    raw = parse(await readFile(values.cases, "utf8"), { uniqueKeys: true });
  } catch (err) {
    process.stderr.write(`${values.cases}: ${(err as Error).message}\n`);
    return 2;
  }
  const cases = CaseFile.safeParse(raw);
  if (!cases.success) {
    for (const issue of cases.error.issues)
      process.stderr.write(`${values.cases}: ${issue.path.join(".") || "(document)"}: ${issue.message}\n`);
    return 2;
  }
  const policy = await compilePolicyFile(file);
  if (!policy.ok) {
    printProblems(file, policy.problems);
    return 1;
  }
  const results = await runCases(policy.policy, cases.data, declared);
  let failed = 0;
  for (const result of results) {
    if (result.mismatches.length === 0) {
      process.stdout.write(`  ✓ ${result.name}\n`);
      continue;
    }
    failed++;
    process.stdout.write(`  ✗ ${result.name}\n`);
    for (const m of result.mismatches) {
      process.stdout.write(
        `      step ${m.step}, call ${m.call}: ${m.field}\n        expected: ${m.expected}\n        actual:   ${m.actual}\n`,
      );
    }
  }
  process.stdout.write(`\n${results.length - failed} passed, ${failed} failed (${file})\n`);
  return failed === 0 ? 0 : 1;
}
