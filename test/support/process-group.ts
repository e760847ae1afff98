// Child processes that tests start (servers, sidecars, control-plane components, clients), each the
// leader of a process group of its own, so a signal reaches anything it forks. None outlives the test
// process: every group still running is killed when it exits, also after a failed test or a signal.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

const live = new Set<ChildProcess>();
let hooksInstalled = false;

/** Starts `command` as the leader of a new process group; the group is killed if the test process ends first. */
export function spawnGroup(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, "detached"> = {},
): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  live.add(child);
  child.once("exit", () => live.delete(child));
  child.once("error", () => live.delete(child));
  installExitHooks();
  return child;
}

/** Sends `signal` to the child's process group; a group that is already gone is not an error. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/**
 * Stops the group: `signal` first (SIGTERM: the process's own graceful shutdown), then SIGKILL if the
 * leader has not exited after `graceMs` (never, when it is not given). Resolves once the leader exited.
 */
export async function stopGroup(
  child: ChildProcess,
  signal: NodeJS.Signals = "SIGTERM",
  graceMs?: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  signalGroup(child, signal);
  const timer = graceMs === undefined ? undefined : setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** True while a process with this id exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killAllNow(): void {
  for (const child of live) signalGroup(child, "SIGKILL");
  live.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    // With no other listener, the signal would end the process without an "exit" event: kill the
    // children, then let the signal take its default course. With another listener (a test runner's),
    // that listener decides how the process ends and the exit hook still runs.
    const alone = process.listenerCount(signal) === 0;
    const onSignal = (): void => {
      killAllNow();
      if (alone && process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}
