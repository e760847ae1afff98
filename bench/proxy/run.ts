// The proxy benchmark (`npm run bench:proxy`): the same MCP workload directly against a lean upstream,
// through nginx as a plain reverse proxy, through a bare Node passthrough (the runtime's floor),
// through Stacklok ToolHive's proxy with Cedar authorization, and through the mcp-warden sidecar
// started as the image starts it, all in one run. ToolHive and the sidecar enforce the same policy:
// tools/call of resume_execution and list_executions allowed, every other tool denied; that each
// denies a tool the upstream would run is asserted once at start. Repetitions are interleaved (each
// runs every target in turn, cell by cell) and the table gives medians with ratios. Figures, not a
// verdict: nothing passes or fails on time.
//
// Environment: BENCH_REPS (default 3), BENCH_DURATION_MS per cell (default 3000);
// BENCH_BASELINE=<git ref> also runs the sidecar of that commit (bench/proxy/baseline.ts);
// BENCH_NODE_FLAGS="label=flags;label=flags" also runs this tree's sidecar with other Node flags in
// place of the ENTRYPOINT's, e.g. "semi16=--max-semi-space-size=16;old96=--max-semi-space-size=8 --max-old-space-size=96".
import { mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SIDECAR_RESOURCES } from "../../operator/injector/config.ts";
import { heapEnv } from "../../operator/injector/heap.ts";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { baselineTree } from "./baseline.ts";
import { assertDenies } from "./denial.ts";
import { imageTree } from "./image-tree.ts";
import { cpuSeconds, rssMiB, withChildren } from "./proc.ts";
import {
  holdSessions,
  runLoad,
  startLeanUpstream,
  startNginx,
  startNodePassthrough,
  startSidecar,
  startToolHive,
  type LoadResult,
  type Running,
} from "./processes.ts";
import { printTables, type Cells, type Column } from "./table.ts";

const REPS = Number(process.env.BENCH_REPS ?? 3);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const WARMUP_MS = 500;
const TOKEN = "bench-agent-key";
const ALLOWED = ["resume_execution", "list_executions"];
const DENIED = "force_run_execution";
const BASELINE = process.env.BENCH_BASELINE ? baselineTree(process.env.BENCH_BASELINE) : undefined;
const FLAG_VARIANTS = (process.env.BENCH_NODE_FLAGS ?? "")
  .split(";")
  .filter((v) => v.trim())
  .map((v) => {
    const at = v.indexOf("=");
    if (at <= 0) throw new Error(`BENCH_NODE_FLAGS: "${v}" is not label=flags`);
    return {
      label: v.slice(0, at).trim(),
      flags: v
        .slice(at + 1)
        .trim()
        .split(/\s+/),
    };
  });
const WORKLOADS = {
  small: {
    method: "tools/call",
    params: { name: "resume_execution", arguments: { namespace: "company.team", flow_id: "nightly-etl" } },
  },
  large: { method: "tools/call", params: { name: "list_executions", arguments: { namespace: "company.team" } } },
};
/** The cells each repetition measures: the workload and the number of concurrent sessions. */
const CELLS = [
  { workload: "small", sessions: 1 },
  { workload: "large", sessions: 1 },
  { workload: "small", sessions: 16 },
  { workload: "large", sessions: 16 },
] as const;

const policy = `apiVersion: mcpwarden.io/v1alpha1
kind: McpPolicy
metadata: {name: bench, namespace: bench, generation: 1}
spec:
  default: deny
  hide: [${DENIED}]
  allTools: {limits: [{counter: all-calls, window: second, max: 1000000}]}
  tools:
${ALLOWED.map((t) => `    - name: ${t}`).join("\n")}
`;

interface Target extends Column {
  url: string;
  pids: number[];
}
type Sample = LoadResult & { cpuPer1000: number };

async function measure(target: Target, sessions: number, request: unknown): Promise<Sample> {
  const before = target.pids.length ? cpuSeconds(target.pids) : 0;
  const result = await runLoad({
    url: target.url,
    sessions,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
    request,
    token: TOKEN,
  }).catch((err: unknown) => {
    throw new Error(`${target.title}, ${sessions} session(s): ${(err as Error).message}`);
  });
  if (result.errors > 0) throw new Error(`${target.name}: ${result.errors} failed calls`);
  const cpu = target.pids.length ? cpuSeconds(target.pids) - before : Number.NaN;
  // The proxy's CPU over the whole run (warm-up included) per call made in it.
  return { ...result, cpuPer1000: (cpu / result.total) * 1000 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-bench-"));
  writeFileSync(join(dir, "keys"), `${grantLine("bench", TOKEN)}\n`);
  writeFileSync(join(dir, "policy.yaml"), policy);
  const running: Running[] = [];
  const started = <T extends Running>(r: T): T => (running.push(r), r);
  const loadAtStart = loadavg()[0] as number;
  try {
    const image = imageTree();
    const upstream = started(await startLeanUpstream());
    const nginx = started(await startNginx(dir, upstream.url));
    const node = started(await startNodePassthrough(upstream.url));
    const toolhive = started(await startToolHive(dir, upstream.url, ALLOWED));
    const sidecar = started(await startSidecar(join(dir, "policy.yaml"), join(dir, "keys"), upstream.url));
    const targets: Target[] = [
      { name: "direct", title: "direct", url: upstream.url, pids: [] },
      { name: "nginx", title: "nginx", url: nginx.url, pids: withChildren(nginx.child.pid as number) },
      { name: "node", title: "bare Node", url: node.url, pids: [node.child.pid as number] },
      { name: "toolhive", title: "ToolHive", url: toolhive.url, pids: [toolhive.child.pid as number] },
      { name: "mw", title: "mcp-warden", url: sidecar.url, pids: [sidecar.child.pid as number] },
    ];
    if (BASELINE) {
      const before = started(
        await startSidecar(join(dir, "policy.yaml"), join(dir, "keys"), upstream.url, BASELINE.dir),
      );
      targets.push({
        name: "baseline",
        title: `mcp-warden ${BASELINE.sha.slice(0, 7)}`,
        url: before.url,
        pids: [before.child.pid as number],
        variant: true,
      });
    }
    for (const v of FLAG_VARIANTS) {
      const variant = started(
        await startSidecar(join(dir, "policy.yaml"), join(dir, "keys"), upstream.url, undefined, v.flags),
      );
      targets.push({
        name: `flags:${v.label}`,
        title: `mw ${v.label}`,
        url: variant.url,
        pids: [variant.child.pid as number],
        variant: true,
      });
    }
    const proxies = targets.filter((t) => t.name !== "direct");

    // The comparison is only fair if both enforcing proxies deny what the policy denies.
    await assertDenies(upstream.url, toolhive.url, sidecar.url, TOKEN, DENIED);

    await new Promise((r) => setTimeout(r, 1000)); // let start-up settle before the idle figures
    const idle = Object.fromEntries(proxies.map((t) => [t.name, rssMiB(t.pids)]));

    console.log(
      `mcp-warden proxy benchmark, ${new Date().toISOString()}: ${REPS} interleaved repetitions × ${DURATION_MS} ms per cell (after ${WARMUP_MS} ms warm-up), medians`,
    );
    console.log(
      `node ${process.version}, ${cpus().length} vCPUs (${cpus()[0]?.model ?? "?"}) shared by load generator, upstream and proxies; load average at start ${loadAtStart.toFixed(1)}`,
    );
    console.log(
      `direct = the lean upstream itself (fixed answers as SSE events); nginx = plain reverse proxy (1 worker); bare Node = node:http + undici passthrough (no policy);`,
    );
    console.log(
      `ToolHive = Stacklok ToolHive v0.47.0's proxy runner, Cedar authorization, no authentication (anonymous), no audit; mcp-warden = the sidecar started as the image and the injector start it (${image.nodeFlags.join(" ")}, ${Object.entries(
        image.env,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(
          " ",
        )}, NODE_OPTIONS=${heapEnv(DEFAULT_SIDECAR_RESOURCES)?.value ?? ""}): API key, policy, limits, audit lines to /dev/null, metrics`,
    );
    console.log(
      `both enforce: tools/call of ${ALLOWED.join(" and ")} allowed, ${DENIED} denied (asserted at start); answers ≈ 0.3 KB (resume_execution) and ≈ 24 KB (list_executions)`,
    );
    for (const v of FLAG_VARIANTS)
      console.log(`mw ${v.label} = the same sidecar with Node flags ${v.flags.join(" ")} in place of the ENTRYPOINT's`);
    if (BASELINE)
      console.log(
        `mcp-warden ${BASELINE.sha.slice(0, 7)} = the sidecar of commit ${BASELINE.sha} (BENCH_BASELINE=${BASELINE.ref})`,
      );
    console.log("");

    const cells: Cells = new Map();
    for (let rep = 0; rep < REPS; rep++) {
      for (const { workload, sessions } of CELLS) {
        for (const target of targets) {
          const key = `${workload}|${sessions}|${target.name}`;
          cells.set(key, [...(cells.get(key) ?? []), await measure(target, sessions, WORKLOADS[workload])]);
        }
      }
      process.stderr.write(`repetition ${rep + 1} of ${REPS} done (load average ${loadavg()[0]?.toFixed(1)})\n`);
    }

    // Memory with 1,000 open sessions, each holding its standalone GET stream (once: sessions stay).
    const loaded: Record<string, number> = {};
    for (const t of proxies) {
      const holder = await holdSessions({ url: t.url, sessions: 1000, token: TOKEN });
      await new Promise((r) => setTimeout(r, 1000));
      loaded[t.name] = rssMiB(t.pids);
      await holder.stop();
    }
    printTables({ columns: proxies, cells, idle, loaded, loadAverages: [loadAtStart, loadavg()[0] as number] });
  } finally {
    for (const r of running.reverse()) await r.stop();
  }
}

await main();
