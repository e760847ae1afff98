// The proxy benchmark (`npm run bench:proxy`): the same MCP workload directly against the upstream,
// through nginx as a plain reverse proxy, through a bare Node passthrough (the runtime's floor), and
// through the mcp-warden sidecar enforcing a policy, all in one run. Prints medians over the
// repetitions, side by side, with ratios to nginx. Figures, not a verdict: nothing passes or fails.
//
// Environment: BENCH_REPS (default 3), BENCH_DURATION_MS (default 3000), BENCH_CONCURRENCY (default 1,16,64);
// BENCH_BASELINE=<git ref> also runs the sidecar of that commit (exported and compiled the same way,
// bench/proxy/baseline.ts) as one more target, so before and after stand side by side in one run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { baselineTree } from "./baseline.ts";
import { cpuSeconds, rssMiB, withChildren } from "./proc.ts";
import { holdSessions, NGINX, runLoad, startNginx, startNodePassthrough, startSidecar, startUpstream, type LoadResult, type Running } from "./processes.ts";

const REPS = Number(process.env.BENCH_REPS ?? 3);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? "1,16,64").split(",").map(Number);
const TOKEN = "bench-agent-key";
const BASELINE = process.env.BENCH_BASELINE ? baselineTree(process.env.BENCH_BASELINE) : undefined;
/** The sidecar of this tree, and the baseline commit's when there is one. */
const SIDECAR = BASELINE ? "sidecar (this tree)" : "sidecar";
const BEFORE = BASELINE ? `sidecar (${BASELINE.sha.slice(0, 7)})` : undefined;
const WORKLOADS = {
  "small answer (resume_execution, ~0.3 KB)": { method: "tools/call", params: { name: "resume_execution", arguments: { namespace: "company.team", flow_id: "nightly-etl" } } },
  "Kestra answer (list_executions, ~24 KB)": { method: "tools/call", params: { name: "list_executions", arguments: { namespace: "company.team" } } },
};
const TOOLS_LIST = { method: "tools/list", params: {} };

const policy = (hide: boolean) => `apiVersion: mcpwarden.io/v1alpha1
kind: McpPolicy
metadata: {name: bench, namespace: bench, generation: 1}
spec:
  default: deny
  ${hide ? "hide: [force_run_execution]" : ""}
  allTools: {limits: [{counter: all-calls, window: second, max: 1000000}]}
  tools:
    - name: resume_execution
    - name: list_executions
`;

type Target = { name: string; url: string; pids: number[] };
type Sample = LoadResult & { cpuPer1000: number };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const ratio = (a: number, b: number) => (Number.isFinite(a) && b > 0 ? `${(a / b).toFixed(2)}×` : "–");
const PROXIES = ["nginx", "node", ...(BEFORE ? [BEFORE] : []), SIDECAR];

async function measure(target: Target, sessions: number, request: unknown): Promise<Sample> {
  const before = target.pids.length ? cpuSeconds(target.pids) : 0;
  const result = await runLoad({ url: target.url, sessions, durationMs: DURATION_MS, warmupMs: 500, request, token: TOKEN });
  if (result.errors > 0) throw new Error(`${target.name}: ${result.errors} failed calls`);
  const cpu = target.pids.length ? cpuSeconds(target.pids) - before : Number.NaN;
  return { ...result, cpuPer1000: (cpu / result.total) * 1000 };
}

function nginxVersion(): string {
  const out = spawnSync(NGINX as string, ["-v"], { encoding: "utf8" });
  return (out.stderr || out.stdout).trim().replace("nginx version: ", "");
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-bench-"));
  writeFileSync(join(dir, "keys"), `${grantLine("bench", TOKEN)}\n`);
  writeFileSync(join(dir, "policy.yaml"), policy(true));
  writeFileSync(join(dir, "policy-nohide.yaml"), policy(false));
  const running: Running[] = [];
  try {
    const upstream = await startUpstream();
    running.push(upstream);
    const sidecar = await startSidecar(join(dir, "policy.yaml"), join(dir, "keys"), upstream.url);
    const plain = await startSidecar(join(dir, "policy-nohide.yaml"), join(dir, "keys"), upstream.url);
    const before = BASELINE ? await startSidecar(join(dir, "policy.yaml"), join(dir, "keys"), upstream.url, BASELINE.dir) : undefined;
    if (before) running.push(before);
    const nginx = await startNginx(dir, upstream.url);
    const node = await startNodePassthrough(upstream.url);
    running.push(sidecar, plain, nginx, node);
    const targets: Target[] = [
      { name: "direct", url: upstream.url, pids: [] },
      { name: "nginx", url: nginx.url, pids: withChildren(nginx.child.pid as number) },
      { name: "node", url: node.url, pids: [node.child.pid as number] },
      ...(before && BEFORE ? [{ name: BEFORE, url: before.url, pids: [before.child.pid as number] }] : []),
      { name: SIDECAR, url: sidecar.url, pids: [sidecar.child.pid as number] },
    ];
    const byName = (name: string) => targets.find((t) => t.name === name) as Target;
    await new Promise((r) => setTimeout(r, 1000)); // let start-up settle before the idle figures
    const idle = Object.fromEntries(PROXIES.map((p) => [p, rssMiB(byName(p).pids)]));

    console.log(`mcp-warden proxy benchmark, ${new Date().toISOString()}: ${REPS} repetitions × ${DURATION_MS} ms per cell (after 500 ms warm-up), medians`);
    console.log(`node ${process.version}, ${nginxVersion()} (1 worker), ${cpus().length} vCPUs (${cpus()[0]?.model ?? "?"}) shared by load generator, upstream and proxy; load average at start ${loadavg()[0]?.toFixed(1)}`);
    console.log(`direct = the upstream itself; nginx = plain reverse proxy; node = bare fastify + undici passthrough (no policy); ${SIDECAR} = mcp-warden enforcing a policy (API key, limits, audit log, metrics)`);
    if (BASELINE) console.log(`${BEFORE} = the same sidecar, policy and flags, compiled from commit ${BASELINE.sha} (BENCH_BASELINE=${BASELINE.ref})`);
    console.log("");

    const cells = new Map<string, Sample[]>();
    for (let rep = 0; rep < REPS; rep++) {
      for (const [workload, request] of Object.entries(WORKLOADS)) {
        for (const sessions of CONCURRENCY) {
          for (const target of targets) {
            const key = `${workload}|${sessions}|${target.name}`;
            cells.set(key, [...(cells.get(key) ?? []), await measure(target, sessions, request)]);
          }
        }
      }
    }
    const cell = (w: string, s: number, t: string, f: keyof Sample) => median((cells.get(`${w}|${s}|${t}`) ?? []).map((r) => r[f]));

    const sidecars = BEFORE ? [BEFORE, SIDECAR] : [SIDECAR];
    const vsBefore = BASELINE ? ` this tree ÷ ${BASELINE.sha.slice(0, 7)},` : "";
    for (const w of Object.keys(WORKLOADS)) {
      console.log(`#### ${w}: latency in ms, p50 / p99 (added over direct in brackets)`);
      console.log(`| sessions | direct | nginx | node | ${sidecars.join(" | ")} | sidecar ÷ nginx, added p50 |${BEFORE ? `${vsBefore} p50 / p99 |` : ""}`);
      console.log(`|---|---|---|---|${sidecars.map(() => "---|").join("")}---|${BEFORE ? "---|" : ""}`);
      for (const s of CONCURRENCY) {
        const [d50, d99] = [cell(w, s, "direct", "p50"), cell(w, s, "direct", "p99")];
        const col = (t: string) => `${fmt(cell(w, s, t, "p50"))} / ${fmt(cell(w, s, t, "p99"))} (+${fmt(cell(w, s, t, "p50") - d50)} / ${fmt(cell(w, s, t, "p99") - d99)})`;
        const versus = BEFORE ? ` ${ratio(cell(w, s, SIDECAR, "p50"), cell(w, s, BEFORE, "p50"))} / ${ratio(cell(w, s, SIDECAR, "p99"), cell(w, s, BEFORE, "p99"))} |` : "";
        console.log(`| ${s} | ${fmt(d50)} / ${fmt(d99)} | ${col("nginx")} | ${col("node")} | ${sidecars.map(col).join(" | ")} | ${ratio(cell(w, s, SIDECAR, "p50") - d50, cell(w, s, "nginx", "p50") - d50)} |${versus}`);
      }
      console.log(`\n#### ${w}: throughput (calls/s) and proxy CPU seconds per 1,000 calls`);
      const cpuHeads = sidecars.map((n) => `CPU ${n}`).join(" | ");
      console.log(`| sessions | direct | nginx | node | ${sidecars.join(" | ")} | sidecar ÷ nginx | CPU nginx | CPU node | ${cpuHeads} | sidecar ÷ nginx |${BEFORE ? `${vsBefore} calls/s, CPU |` : ""}`);
      console.log(`|---|---|---|---|${sidecars.map(() => "---|").join("")}---|---|---|${sidecars.map(() => "---|").join("")}---|${BEFORE ? "---|" : ""}`);
      for (const s of CONCURRENCY) {
        const t = (n: string) => cell(w, s, n, "throughput");
        const c = (n: string) => cell(w, s, n, "cpuPer1000");
        const versus = BEFORE ? ` ${ratio(t(SIDECAR), t(BEFORE))}, ${ratio(c(SIDECAR), c(BEFORE))} |` : "";
        console.log(`| ${s} | ${fmt(t("direct"), 0)} | ${fmt(t("nginx"), 0)} | ${fmt(t("node"), 0)} | ${sidecars.map((n) => fmt(t(n), 0)).join(" | ")} | ${ratio(t(SIDECAR), t("nginx"))} | ${fmt(c("nginx"), 3)} | ${fmt(c("node"), 3)} | ${sidecars.map((n) => fmt(c(n), 3)).join(" | ")} | ${ratio(c(SIDECAR), c("nginx"))} |${versus}`);
      }
      console.log("");
    }

    // tools/list (42 KB): the sidecar filtering a hidden tool, and the same sidecar with nothing to hide.
    const listTargets: Target[] = [...targets, { name: "sidecar, nothing hidden", url: plain.url, pids: [plain.child.pid as number] }];
    const lists = new Map<string, Sample[]>();
    for (let rep = 0; rep < REPS; rep++) {
      for (const t of listTargets) lists.set(t.name, [...(lists.get(t.name) ?? []), await measure(t, 1, TOOLS_LIST)]);
    }
    const list = (name: string, f: keyof Sample) => median((lists.get(name) ?? []).map((r) => r[f]));
    console.log("#### tools/list of the 39 Kestra tools (~42 KB), 1 session");
    console.log("| path | p50 / p99 ms | added p50 ms | CPU s per 1,000 lists |");
    console.log("|---|---|---|---|");
    for (const t of listTargets) {
      console.log(`| ${t.name} | ${fmt(list(t.name, "p50"))} / ${fmt(list(t.name, "p99"))} | ${t.name === "direct" ? "–" : fmt(list(t.name, "p50") - list("direct", "p50"))} | ${fmt(list(t.name, "cpuPer1000"), 3)} |`);
    }

    // Memory: idle, and with 1,000 open sessions (each with its standalone GET stream).
    const loaded: Record<string, number> = {};
    const rss = (row: Record<string, number>) => PROXIES.map((p) => fmt(row[p] ?? 0, 1)).join(" | ");
    const rssVersus = (row: Record<string, number>) => (BEFORE ? ` ${ratio(row[SIDECAR] ?? 0, row[BEFORE] ?? 0)} |` : "");
    for (const p of PROXIES) {
      const holder = await holdSessions({ url: byName(p).url, sessions: 1000, token: TOKEN });
      await new Promise((r) => setTimeout(r, 1000));
      loaded[p] = rssMiB(byName(p).pids);
      await holder.stop();
    }
    console.log("\n#### Resident memory, MiB");
    console.log(`| | nginx (master + worker) | node | ${sidecars.join(" | ")} | sidecar ÷ nginx |${BEFORE ? `${vsBefore.replace(/,$/, "")} |` : ""}`);
    console.log(`|---|---|---|${sidecars.map(() => "---|").join("")}---|${BEFORE ? "---|" : ""}`);
    console.log(`| idle, policy loaded | ${rss(idle)} | ${ratio(idle[SIDECAR] ?? 0, idle.nginx ?? 0)} |${rssVersus(idle)}`);
    console.log(`| 1,000 open sessions with GET streams | ${rss(loaded)} | ${ratio(loaded[SIDECAR] ?? 0, loaded.nginx ?? 0)} |${rssVersus(loaded)}`);
  } finally {
    for (const r of running.reverse()) await r.stop();
  }
}

await main();
