// Dispatch for the one mcp-warden command. Each subcommand lives in its own file.
import { approveUsage, denyUsage, listUsage, runApprovalsApprove, runApprovalsDeny, runApprovalsList } from "./approvals.ts";
import { explainUsage, runPolicyExplain } from "./policy-explain.ts";
import { importUsage, runPolicyImport } from "./policy-import.ts";
import { initUsage, runPolicyInit } from "./policy-init.ts";
import { operatorUsage, runOperator } from "./operator.ts";
import { lintUsage, runPolicyLint } from "./policy-lint.ts";
import { runPolicyScan, scanUsage } from "./policy-scan.ts";
import { runPolicyTest, testUsage } from "./policy-test.ts";
import { runSidecar, sidecarHelp, sidecarUsage } from "./sidecar.ts";
import { UsageError } from "./usage-error.ts";

interface Command {
  usage: string;
  /** Full `--help` text, when there is more to say than the usage line. */
  help?: () => string;
  run: (argv: string[]) => Promise<number>;
}

const commands: ReadonlyMap<string, Command> = new Map<string, Command>([
  ["sidecar", { usage: sidecarUsage, help: sidecarHelp, run: runSidecar }],
  ["policy lint", { usage: lintUsage, run: runPolicyLint }],
  ["policy explain", { usage: explainUsage, run: runPolicyExplain }],
  ["policy test", { usage: testUsage, run: runPolicyTest }],
  ["policy import", { usage: importUsage, run: runPolicyImport }],
  ["policy init", { usage: initUsage, run: runPolicyInit }],
  ["policy scan", { usage: scanUsage, run: runPolicyScan }],
  ["operator", { usage: operatorUsage, run: (argv) => runOperator(argv) }],
  ["approvals list", { usage: listUsage, run: runApprovalsList }],
  ["approvals approve", { usage: approveUsage, run: runApprovalsApprove }],
  ["approvals deny", { usage: denyUsage, run: runApprovalsDeny }],
]);

function usage(): string {
  return ["usage:", ...[...commands.values()].map((c) => `  ${c.usage}`)].join("\n") + "\n";
}

/** Runs a command line and returns the exit code: 0 ok, 1 the command failed, 2 usage error. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || ["help", "--help", "-h"].includes(argv[0] as string)) {
    (argv.length === 0 ? process.stderr : process.stdout).write(usage());
    return argv.length === 0 ? 2 : 0;
  }
  const words = commands.has(`${argv[0]} ${argv[1]}`) ? 2 : 1;
  const name = argv.slice(0, words).join(" ");
  const command = commands.get(name);
  if (!command) {
    process.stderr.write(`mcp-warden: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  const rest = argv.slice(words);
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(command.help ? command.help() : `usage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || String((err as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`mcp-warden: ${(err as Error).message}\nusage: ${command.usage}\n`);
      return 2;
    }
    throw err;
  }
}
