// Peers that run as their own processes (Python servers and clients, server-everything, the MCP
// Inspector CLI). Each runs in its own process group so stopping it also stops what it started.
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { signalGroup, spawnGroup, stopGroup } from "./process-group.ts";

export interface Peer {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the peer's output. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

export function startPeer(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Peer {
  const child = spawnGroup(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
  });
  let output = "";
  const waiters = new Set<() => void>();
  const collect = (d: Buffer) => {
    output = (output + d.toString("utf8")).slice(-200_000);
    for (const w of waiters) w();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  child.on("exit", () => {
    for (const w of waiters) w();
  });
  return {
    child,
    output: () => output,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`timed out waiting for ${pattern} from ${command}:\n${output.slice(-3000)}`)),
          timeoutMs,
        );
        const check = () => {
          const match = pattern.exec(output);
          if (match) done(undefined, match);
          else if (child.exitCode !== null)
            done(new Error(`${command} exited with ${child.exitCode} before ${pattern}:\n${output.slice(-3000)}`));
        };
        const done = (err?: Error, match?: RegExpMatchArray) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(match as RegExpMatchArray);
        };
        waiters.add(check);
        check();
      });
    },
    stop: () => stopGroup(child, "SIGTERM", 3000),
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed, with its group, after `timeoutMs`). */
export function runPeer(
  command: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnGroup(command, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A command may exit without reading its input (grep -q, a usage error): not a failure of the run.
    child.stdin?.on("error", () => {});
    child.stdin?.end(options.input ?? "");
  });
}

/** The interop virtualenv's python (built by scripts/prerequisites.sh). */
export function venvPython(): string {
  const python = join(process.env.MCP_WARDEN_CACHE ?? join(homedir(), ".cache", "mcp-warden"), "venv", "bin", "python");
  if (!existsSync(python)) throw new Error(`${python} is missing: run scripts/prerequisites.sh (npm test does)`);
  return python;
}

export const PYTHON_DIR = new URL("../python/", import.meta.url).pathname;
