// `mcp-warden sidecar …`: runs the enforcing proxy until SIGTERM/SIGINT (graceful, exit 0).
// SIGHUP re-reads a file policy at once. The logic lives in sidecar/; this only wires the process.
import { parseSidecarConfig, sidecarHelp, sidecarUsage } from "../sidecar/config.ts";
import { errorMessage } from "../program/logging.ts";
import { FilePolicySource } from "../sidecar/policy-sources/file.ts";
import { startSidecar, StartupError } from "../sidecar/sidecar.ts";

export { sidecarHelp, sidecarUsage };

export async function runSidecar(argv: string[]): Promise<number> {
  // A wrong setting throws the CLI's UsageError (one class): exit 2 with the usage.
  const config = parseSidecarConfig(argv);
  let sidecar;
  try {
    sidecar = await startSidecar({ config });
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    process.stderr.write(`mcp-warden sidecar: ${err.message}\n`);
    for (const problem of err.problems) process.stderr.write(`  ${problem}\n`);
    return 1;
  }
  const running = sidecar;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        process.stderr.write(`mcp-warden sidecar: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      running.shutdown().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`mcp-warden sidecar: shutdown failed: ${errorMessage(err)}\n`);
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGHUP", () => {
      if (running.source instanceof FilePolicySource) void running.source.reload();
    });
  });
}
