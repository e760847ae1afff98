// Real `mcp-warden sidecar` processes (the CLI, as the pod runs it) for tests and benchmarks: each
// listens on ports the kernel picks (read back from its "sidecar started" line), runs in its own
// process group, and keeps its audit lines (stdout) and operational log lines (stderr) parsed.
//
//   const files = sidecarFiles(mcpPolicy("default: allow"));
//   const sidecar = await startSidecarProcess({ policy: files.policy, apiKeys: files.apiKeys, upstream: double.url });
//   await sidecar.metric("mcp_warden_tool_calls_total", { decision: "allowed" });
//   await sidecar.stop();   // SIGTERM, then SIGKILL after 10 s
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { signalGroup, spawnGroup } from "./process-group.ts";
import { KEYS, metricValue, type LogLine } from "./sidecar-harness.ts";

export const CLI = new URL("../../cli/mcp-warden.ts", import.meta.url).pathname;
const START_TIMEOUT_MS = 30_000;

export interface SidecarFiles {
  dir: string;
  policy: string;
  apiKeys: string;
}

/** A policy file and an API-key file (alice and bob of `KEYS` unless given) in a new directory. */
export function sidecarFiles(
  policy: string,
  apiKeys = `${grantLine("alice", KEYS.alice)}\n${grantLine("bob", KEYS.bob)}\n`,
): SidecarFiles {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-sidecar-"));
  const files = { dir, policy: join(dir, "policy.yaml"), apiKeys: join(dir, "api-keys") };
  writeFileSync(files.policy, policy);
  writeFileSync(files.apiKeys, apiKeys);
  return files;
}

export interface SidecarProcessOptions {
  policy: string;
  upstream: string;
  apiKeys?: string;
  /** Extra flags, e.g. ["--shutdown-grace", "5s"]. */
  args?: readonly string[];
  /** Added to the test's environment (e.g. MCP_WARDEN_REDIS_URL). */
  env?: Record<string, string>;
  /** Node flags before the CLI path. */
  nodeArgs?: readonly string[];
  /** Keep at most this many parsed audit lines (default 100,000); older ones are dropped. */
  keepAuditLines?: number;
  /** Send the audit log (stdout) to /dev/null instead of reading it (benchmarks). */
  discardAudit?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SidecarProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The MCP endpoint, e.g. http://127.0.0.1:41234/mcp. */
  readonly url: string;
  readonly adminUrl: string;
  /** Parsed audit lines (stdout) so far. */
  readonly auditLines: LogLine[];
  /** Parsed operational log lines (stderr) so far. */
  readonly logLines: LogLine[];
  /** Output lines that were not JSON (should stay empty). */
  readonly otherOutput: string[];
  readonly exited: Promise<ExitStatus>;
  metricsText(): Promise<string>;
  /** The first sample of `name` whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** The sum of every sample of `name` whose labels include `labels` (0 when there is none). */
  metricSum(name: string, labels?: Record<string, string>): Promise<number>;
  /** HTTP status of GET /readyz, or 0 when the admin port does not answer. */
  readiness(): Promise<number>;
  /** Resident set size in bytes, from /proc. */
  rssBytes(): number;
  /** Resolves with the first log line (either stream) `predicate` accepts. */
  waitForLog(predicate: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

export async function startSidecarProcess(options: SidecarProcessOptions): Promise<SidecarProcess> {
  const args = [
    ...(options.nodeArgs ?? []),
    CLI,
    "sidecar",
    "--policy",
    options.policy,
    "--upstream",
    options.upstream,
    "--listen",
    "127.0.0.1:0",
    "--admin-listen",
    "127.0.0.1:0",
    ...(options.apiKeys ? ["--api-keys", options.apiKeys] : []),
    ...(options.args ?? []),
  ];
  const child = spawnGroup(process.execPath, args, {
    stdio: ["ignore", options.discardAudit ? "ignore" : "pipe", "pipe"],
    env: { ...process.env, ...options.env },
  });
  const exited = new Promise<ExitStatus>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const auditLines: LogLine[] = [];
  const logLines: LogLine[] = [];
  const otherOutput: string[] = [];
  const keep = options.keepAuditLines ?? 100_000;
  const waiters = new Set<(line: LogLine | undefined) => void>();
  const onLine = (into: LogLine[], limit: number) => (text: string) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      otherOutput.push(text);
      return;
    }
    into.push(line);
    if (into.length > limit) into.splice(0, into.length - limit);
    for (const w of waiters) w(line);
  };
  if (child.stdout) splitLines(child.stdout, onLine(auditLines, keep));
  splitLines(child.stderr as NodeJS.ReadableStream, onLine(logLines, 100_000));
  child.once("exit", () => {
    for (const w of waiters) w(undefined);
  });

  const waitForLog = (
    predicate: (line: LogLine) => boolean,
    what: string,
    timeoutMs = START_TIMEOUT_MS,
  ): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const found = [...logLines, ...auditLines].find(predicate);
      if (found) return resolve(found);
      const done = (err: Error | undefined, line?: LogLine) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) reject(err);
        else resolve(line as LogLine);
      };
      const check = (line: LogLine | undefined) => {
        if (line === undefined)
          done(
            new Error(
              `the sidecar exited (${child.exitCode ?? child.signalCode}) before ${what}:\n${tail(logLines, otherOutput)}`,
            ),
          );
        else if (predicate(line)) done(undefined, line);
      };
      const timer = setTimeout(
        () => done(new Error(`timed out waiting for ${what}:\n${tail(logLines, otherOutput)}`)),
        timeoutMs,
      );
      waiters.add(check);
    });

  let started: LogLine;
  try {
    started = await waitForLog((l) => l.msg === "sidecar started", "the sidecar to start");
  } catch (err) {
    signalGroup(child, "SIGKILL");
    throw err;
  }
  const url = String(started.listen);
  const adminUrl = String(started.admin);
  const metricsText = async () => (await fetch(`${adminUrl}/metrics`)).text();

  return {
    child,
    pid: child.pid as number,
    url,
    adminUrl,
    auditLines,
    logLines,
    otherOutput,
    exited,
    metricsText,
    metric: async (name, labels = {}) => metricValue(await metricsText(), name, labels),
    metricSum: async (name, labels = {}) => metricSum(await metricsText(), name, labels),
    readiness: async () => (await fetch(`${adminUrl}/readyz`).catch(() => undefined))?.status ?? 0,
    rssBytes: () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) * 1024,
    waitForLog,
    signal: (signal) => signalGroup(child, signal),
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup(child, "SIGTERM");
        const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
        const status = await exited;
        clearTimeout(timer);
        return status;
      }
      return exited;
    },
  };
}

/** The sum of every sample of `name` whose labels include `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (metricValue(line, name, labels) !== undefined) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const part of parts) if (part !== "") onLine(part);
  });
  stream.on("end", () => {
    if (rest !== "") onLine(rest);
  });
}

function tail(lines: LogLine[], other: string[]): string {
  return [...lines.slice(-20).map((l) => JSON.stringify(l)), ...other.slice(-20)].join("\n");
}
