// The sidecar's cost per call at several commits side by side in one run: the proxy benchmark's
// upstream, load generator and sidecar start-up (bench/proxy), with only sidecars as targets, in
// interleaved blocks. Prints, per workload and concurrency, the median CPU seconds per 1,000 calls
// and the added p50 / p99 over the upstream, with ratios to the first column. CPU time comes from
// /proc, so it holds up better than latency on a busy machine.
//
//   BENCH_REFS=<ref>,<ref>… (default main) the commits measured before this tree (bench/proxy/baseline.ts)
//   BENCH_REPS (default 5), BENCH_DURATION_MS (default 2000), BENCH_CONCURRENCY (default 1,16)
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { baselineTree } from "../proxy/baseline.ts";
import { cpuSeconds } from "../proxy/proc.ts";
import { runLoad, startSidecar, startUpstream, type LoadResult, type Running } from "../proxy/processes.ts";

const REPS = Number(process.env.BENCH_REPS ?? 5);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? "1,16").split(",").map(Number);
const REFS = (process.env.BENCH_REFS ?? "main").split(",").filter((r) => r !== "");
const TOKEN = "bench-agent-key";
const WORKLOADS = {
  "small answer (~0.3 KB)": {
    method: "tools/call",
    params: { name: "resume_execution", arguments: { namespace: "company.team", flow_id: "nightly-etl" } },
  },
  "24 KB answer": {
    method: "tools/call",
    params: { name: "list_executions", arguments: { namespace: "company.team" } },
  },
};
const POLICY = `apiVersion: mcpwarden.io/v1alpha1
kind: McpPolicy
metadata: {name: bench, namespace: bench, generation: 1}
spec:
  default: deny
  hide: [force_run_execution]
  allTools: {limits: [{counter: all-calls, window: second, max: 1000000}]}
  tools:
    - name: resume_execution
    - name: list_executions
`;

type Sample = LoadResult & { cpuPer1000: number };
interface Target {
  name: string;
  url: string;
  pids: number[];
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function measure(target: Target, sessions: number, request: unknown): Promise<Sample> {
  const before = target.pids.length ? cpuSeconds(target.pids) : 0;
  const result = await runLoad({
    url: target.url,
    sessions,
    durationMs: DURATION_MS,
    warmupMs: 500,
    request,
    token: TOKEN,
  });
  if (result.errors > 0) throw new Error(`${target.name}: ${result.errors} failed calls`);
  const cpu = target.pids.length ? cpuSeconds(target.pids) - before : Number.NaN;
  return { ...result, cpuPer1000: (cpu / result.total) * 1000 };
}

const dir = mkdtempSync(join(tmpdir(), "mcp-warden-hotpath-"));
writeFileSync(join(dir, "keys"), `${grantLine("bench", TOKEN)}\n`);
writeFileSync(join(dir, "policy.yaml"), POLICY);
const running: Running[] = [];
try {
  const upstream = await startUpstream();
  running.push(upstream);
  const targets: Target[] = [{ name: "direct", url: upstream.url, pids: [] }];
  for (const ref of [...REFS, undefined]) {
    const tree = ref === undefined ? undefined : baselineTree(ref);
    const sidecar = await startSidecar(join(dir, "policy.yaml"), join(dir, "keys"), upstream.url, tree?.dir);
    running.push(sidecar);
    targets.push({
      name: tree ? `${tree.ref} (${tree.sha.slice(0, 7)})` : "this tree",
      url: sidecar.url,
      pids: [sidecar.child.pid as number],
    });
  }
  const sidecars = targets.slice(1);
  console.log(
    `sidecar per call, ${new Date().toISOString()}: ${REPS} interleaved repetitions × ${DURATION_MS} ms per cell, medians; load average at start ${loadavg()[0]?.toFixed(1)}`,
  );
  const cells = new Map<string, Sample[]>();
  for (let rep = 0; rep < REPS; rep++) {
    for (const [workload, request] of Object.entries(WORKLOADS)) {
      for (const sessions of CONCURRENCY) {
        // The order of the targets turns each repetition, so none is always measured first.
        const order = targets.map((_, i) => targets[(i + rep) % targets.length] as Target);
        for (const target of order) {
          const key = `${workload}|${sessions}|${target.name}`;
          cells.set(key, [...(cells.get(key) ?? []), await measure(target, sessions, request)]);
        }
      }
    }
  }
  const cell = (w: string, s: number, t: string, f: keyof Sample) =>
    median((cells.get(`${w}|${s}|${t}`) ?? []).map((r) => r[f]));
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  for (const w of Object.keys(WORKLOADS)) {
    console.log(`\n#### ${w}`);
    console.log(`| sessions | figure | ${sidecars.map((t) => t.name).join(" | ")} |`);
    console.log(`|---|---|${sidecars.map(() => "---|").join("")}`);
    for (const s of CONCURRENCY) {
      const first = sidecars[0]?.name as string;
      const cpu = (t: string) => cell(w, s, t, "cpuPer1000");
      const added = (t: string, f: "p50" | "p99") => cell(w, s, t, f) - cell(w, s, "direct", f);
      console.log(
        `| ${s} | CPU s per 1,000 calls | ${sidecars.map((t) => `${cpu(t.name).toFixed(3)} (${ratio(cpu(t.name), cpu(first))})`).join(" | ")} |`,
      );
      console.log(
        `| ${s} | added p50 / p99 ms | ${sidecars.map((t) => `${added(t.name, "p50").toFixed(2)} / ${added(t.name, "p99").toFixed(2)}`).join(" | ")} |`,
      );
    }
  }
} finally {
  for (const r of running.reverse()) await r.stop();
}
