// Dispatch for the one mcp-warden command. Each subcommand lives in its own file and is loaded only
// when it runs, so `kubectl mcp-warden status` does not pay for the sidecar's and operator's imports.
import { UsageError } from "./usage-error.ts";

interface Command {
  usage: string;
  /** Full `--help` text, when there is more to say than the usage line. */
  help?: () => string;
  /** `program` is how the user invoked mcp-warden, for messages ("kubectl mcp-warden" as a kubectl plugin). */
  run: (argv: string[], invocation: { program: string }) => Promise<number>;
}

const commands: ReadonlyMap<string, () => Promise<Command>> = new Map<string, () => Promise<Command>>([
  [
    "sidecar",
    async () => import("./sidecar.ts").then((m) => ({ usage: m.sidecarUsage, help: m.sidecarHelp, run: m.runSidecar })),
  ],
  ["policy lint", async () => import("./policy-lint.ts").then((m) => ({ usage: m.lintUsage, run: m.runPolicyLint }))],
  [
    "policy explain",
    async () => import("./policy-explain.ts").then((m) => ({ usage: m.explainUsage, run: m.runPolicyExplain })),
  ],
  ["policy test", async () => import("./policy-test.ts").then((m) => ({ usage: m.testUsage, run: m.runPolicyTest }))],
  [
    "policy import",
    async () => import("./policy-import.ts").then((m) => ({ usage: m.importUsage, run: m.runPolicyImport })),
  ],
  ["policy init", async () => import("./policy-init.ts").then((m) => ({ usage: m.initUsage, run: m.runPolicyInit }))],
  ["policy pin", async () => import("./policy-pin.ts").then((m) => ({ usage: m.pinUsage, run: m.runPolicyPin }))],
  ["policy scan", async () => import("./policy-scan.ts").then((m) => ({ usage: m.scanUsage, run: m.runPolicyScan }))],
  [
    "operator",
    async () =>
      import("./operator.ts").then((m) => ({
        usage: m.operatorUsage,
        help: m.operatorHelp,
        run: (argv) => m.runOperator(argv),
      })),
  ],
  [
    "status",
    async () =>
      import("./status.ts").then((m) => ({
        usage: m.statusUsage,
        run: (argv, { program }) => m.runStatus(argv, { ...m.processIo, program }),
      })),
  ],
  ["pins diff", async () => import("./pins.ts").then((m) => ({ usage: m.diffUsage, run: m.runPinsDiff }))],
  ["pins accept", async () => import("./pins.ts").then((m) => ({ usage: m.acceptUsage, run: m.runPinsAccept }))],
  [
    "approvals list",
    async () => import("./approvals.ts").then((m) => ({ usage: m.listUsage, run: m.runApprovalsList })),
  ],
  [
    "approvals approve",
    async () => import("./approvals.ts").then((m) => ({ usage: m.approveUsage, run: m.runApprovalsApprove })),
  ],
  [
    "approvals deny",
    async () => import("./approvals.ts").then((m) => ({ usage: m.denyUsage, run: m.runApprovalsDeny })),
  ],
]);

export interface MainOptions {
  /** How the user invoked the command, for usage lines: "mcp-warden", or "kubectl mcp-warden" as a kubectl plugin. */
  program?: string;
}

/** Runs a command line and returns the exit code: 0 ok, 1 the command failed, 2 usage error. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const program = options.program ?? "mcp-warden";
  const named = (text: string) =>
    program === "mcp-warden" ? text : text.replace(/(?<![\w./-])mcp-warden(?= )/g, program);
  const usage = async () =>
    named(
      ["usage:", ...(await Promise.all([...commands.values()].map(async (load) => `  ${(await load()).usage}`)))].join(
        "\n",
      ) + "\n",
    );
  if (argv.length === 0 || ["help", "--help", "-h"].includes(argv[0] as string)) {
    (argv.length === 0 ? process.stderr : process.stdout).write(await usage());
    return argv.length === 0 ? 2 : 0;
  }
  const words = commands.has(`${argv[0]} ${argv[1]}`) ? 2 : 1;
  const name = argv.slice(0, words).join(" ");
  const load = commands.get(name);
  if (!load) {
    process.stderr.write(`${program}: unknown command "${name}"\n${await usage()}`);
    return 2;
  }
  const command = await load();
  const rest = argv.slice(words);
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(named(command.help ? command.help() : `usage: ${command.usage}\n`));
    return 0;
  }
  try {
    return await command.run(rest, { program });
  } catch (err) {
    if (err instanceof UsageError || String((err as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${program}: ${(err as Error).message}\n${named(`usage: ${command.usage}`)}\n`);
      return 2;
    }
    throw err;
  }
}
