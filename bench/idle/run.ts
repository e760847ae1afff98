// What the sidecar costs before its first call: the module files it loads and its resident memory at
// idle, started exactly as the image starts it (bench/proxy/image-tree.ts) with a names-only policy from
// a file and the memory rate-limit store. With BENCH_BASELINE=<git ref> the sidecar of that commit is
// started the same way, interleaved with this tree's, and both are printed side by side with ratios.
//
//   node bench/idle/run.ts                      # this tree
//   BENCH_BASELINE=main node bench/idle/run.ts  # main next to this tree
//
// Environment: BENCH_REPS (default 3, medians are printed), BENCH_IDLE_MS (default 3000: how long the
// started sidecar sits before its RSS is read), BENCH_POLICY (a policy file instead of the names-only one).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { moduleRecorder, packageOf } from "../../test/support/loaded-modules.ts";
import { baselineTree } from "../proxy/baseline.ts";
import { imageTree, type ImageTree } from "../proxy/image-tree.ts";
import { startUpstream } from "../proxy/processes.ts";

const REPS = Number(process.env.BENCH_REPS ?? 3);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 3000);
const BASELINE = process.env.BENCH_BASELINE ? baselineTree(process.env.BENCH_BASELINE) : undefined;

const NAMES_ONLY = `apiVersion: mcpwarden.io/v1alpha1
kind: McpPolicy
metadata: {name: bench, namespace: bench, generation: 1}
spec:
  default: deny
  tools:
    - name: resume_execution
    - name: list_executions
`;

interface Idle {
  files: number;
  packages: Set<string>;
  rssMiB: number;
  /** Samples on /metrics (lines that are not comments), read after the RSS. */
  series: number;
}

const dir = mkdtempSync(join(tmpdir(), "mcp-warden-bench-idle-"));
const policy = process.env.BENCH_POLICY ?? join(dir, "policy.yaml");
if (!process.env.BENCH_POLICY) writeFileSync(policy, NAMES_ONLY);
const keys = join(dir, "api-keys");
writeFileSync(keys, `${grantLine("bench", "bench-secret-key-0001")}\n`);

/** One start: files loaded (with the recording hook) or RSS at idle (without it, so the hook costs nothing). */
async function start(
  image: ImageTree,
  record: boolean,
  upstream: string,
): Promise<{ files: string[]; rssMiB: number; series: number }> {
  const recorder = record ? moduleRecorder() : undefined;
  const [port, admin] = [await freePort(), await freePort()];
  const args = [
    ...image.nodeFlags,
    ...(recorder?.nodeArgs ?? []),
    image.cli,
    "sidecar",
    "--policy",
    policy,
    "--api-keys",
    keys,
    "--upstream",
    upstream,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${admin}`,
    "--log-level",
    "warn",
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    await listening(`http://127.0.0.1:${admin}/healthz`, () => stderr);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1]) / 1024;
    const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    return {
      files: recorder?.files() ?? [],
      rssMiB: rss,
      series: metrics.split("\n").filter((line) => line !== "" && !line.startsWith("#")).length,
    };
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
}

async function listening(url: string, output: () => string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await fetch(url).catch(() => undefined))?.ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never answered:\n${output().slice(-2000)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const trees: [string, ImageTree][] = [["sidecar", imageTree()]];
  if (BASELINE) trees.unshift([`sidecar (${BASELINE.sha.slice(0, 7)})`, imageTree(BASELINE.dir)]);
  // The benchmark's MCP upstream, so that each sidecar lists its tools as it does in a pod.
  const upstream = await startUpstream();
  const samples = new Map<string, Idle[]>(trees.map(([name]) => [name, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const [name, image] of trees) {
      const recorded = await start(image, true, upstream.url);
      const idle = await start(image, false, upstream.url);
      samples.get(name)?.push({
        files: recorded.files.length,
        packages: new Set(recorded.files.flatMap((f) => packageOf(f) ?? [])),
        rssMiB: idle.rssMiB,
        series: idle.series,
      });
    }
  }
  await upstream.stop();
  console.log(
    `Idle sidecar, started as the image starts it (${trees[0]?.[1].nodeFlags.join(" ")}), policy ${process.env.BENCH_POLICY ?? "names-only"}, memory rate-limit store; medians of ${REPS} starts, RSS read ${IDLE_MS} ms after the admin port answered; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log("");
  const header = ["", ...trees.map(([name]) => name), ...(BASELINE ? ["ratio"] : [])];
  const rows: string[][] = [];
  const figure = (label: string, pick: (s: Idle) => number, digits: number) => {
    const values = trees.map(([name]) => median((samples.get(name) ?? []).map(pick)));
    rows.push([
      label,
      ...values.map((v) => v.toFixed(digits)),
      ...(BASELINE ? [`${((values[1] as number) / (values[0] as number)).toFixed(2)}×`] : []),
    ]);
  };
  figure("module files loaded", (s) => s.files, 0);
  figure("npm packages loaded", (s) => s.packages.size, 0);
  figure("RSS idle (MiB)", (s) => s.rssMiB, 1);
  figure("samples on /metrics", (s) => s.series, 0);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? "").length)));
  for (const row of [header, ...rows])
    console.log(
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
        .join("  "),
    );
  console.log("");
  for (const [name] of trees)
    console.log(`${name} packages: ${[...(samples.get(name)?.[0]?.packages ?? [])].sort().join(" ")}`);
}

await main();
