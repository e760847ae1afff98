// Child processes of a test control plane. Each runs in its own process group (so a stop reaches
// anything it forks) and logs to a file (so a full pipe never blocks it and a failure can show the
// tail). Every live one is killed when this process exits, also after a failed test or a signal.
import type { ChildProcess } from "node:child_process";
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { signalGroup, spawnGroup } from "../support/process-group.ts";

export interface ComponentSpec {
  /** Component name for messages, e.g. "kube-apiserver". */
  name: string;
  binary: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** A command that execs the binary, e.g. `nsenter --net=<file>` to start it in the node's network namespace. */
  wrapper?: string[];
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ComponentProcess {
  readonly name: string;
  readonly binary: string;
  readonly pid: number;
  readonly logFile: string;
  /** Size of the log when this process started: the log is shared with earlier runs (restarts). */
  readonly logStart: number;
  /** Settles when the process has exited, for whatever reason. */
  readonly exited: Promise<ExitStatus>;
  private readonly child: ChildProcess;
  private status: ExitStatus | undefined;
  private stopping = false;
  private supervised = false;

  private constructor(spec: ComponentSpec, child: ChildProcess, pid: number, logStart: number) {
    this.name = spec.name;
    this.logStart = logStart;
    this.binary = spec.binary;
    this.logFile = spec.logFile;
    this.child = child;
    this.pid = pid;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.status = { code, signal };
        if (this.supervised && !this.stopping) {
          process.stderr.write(
            `[cluster] ${this.name} (pid ${pid}) exited unexpectedly (${describeExit(this.status)})\n${this.logTail(20)}\n`,
          );
        }
        resolve(this.status);
      });
    });
  }

  static spawn(spec: ComponentSpec): ComponentProcess {
    const log = openSync(spec.logFile, "a");
    const logStart = fstatSync(log).size;
    let child: ChildProcess;
    try {
      const [command, ...prefix] = spec.wrapper ?? [];
      child = spawnGroup(command ?? spec.binary, command ? [...prefix, spec.binary, ...spec.args] : spec.args, {
        stdio: ["ignore", log, log],
        env: spec.env ?? process.env,
      });
    } finally {
      closeSync(log);
    }
    // A failed spawn (no such binary) is reported as an "error" event too; without a listener it would crash.
    child.once("error", (error) => process.stderr.write(`[cluster] ${spec.name}: ${error.message}\n`));
    if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.binary})`);
    // Unreferenced: a forgotten stop must not keep the test process alive; the exit hook kills it.
    child.unref();
    const component = new ComponentProcess(spec, child, child.pid, logStart);
    return component;
  }

  /**
   * From now on, an exit that stop() did not ask for is reported on stderr with the log's tail (a
   * component that dies mid-test explains the test's failure). Before it is ready, the readiness
   * wait reports instead.
   */
  supervise(): void {
    this.supervised = true;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /**
   * Stops the process group: `signal` first (SIGTERM: the component's own graceful shutdown), then
   * SIGKILL if it has not exited after graceMs. Resolves with how it exited.
   */
  async stop(options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<ExitStatus> {
    if (this.status) return this.status;
    this.stopping = true;
    this.child.ref();
    signalGroup(this.child, options.signal ?? "SIGTERM");
    const timer = setTimeout(() => signalGroup(this.child, "SIGKILL"), options.graceMs ?? 10_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** What this run of the process has logged so far. */
  logSinceStart(): string {
    try {
      return readFileSync(this.logFile).subarray(this.logStart).toString("utf8");
    } catch {
      return "";
    }
  }

  /** The last lines of the component's log (this run's), each cut to a readable length. */
  logTail(lines = 40): string {
    const text = this.logSinceStart();
    if (text === "") return `(nothing logged in ${this.logFile})`;
    const tail = text
      .trimEnd()
      .split("\n")
      .slice(-lines)
      .map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line));
    return [`--- last ${tail.length} lines of ${this.logFile} ---`, ...tail].join("\n");
  }
}

export function describeExit(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
}

/** True when a component's log says it could not bind its port (another process took it). */
export function lostPortRace(component: ComponentProcess): boolean {
  return /address already in use/.test(component.logSinceStart());
}
