// The rate-limit benchmark's second part: decisions through real sidecar processes (the CLI) over
// HTTP, one sidecar alone and three sharing one Redis, with the memory store beside them for the
// difference. Two kinds of call: allowed ones (decided, counted and forwarded to the Kestra double),
// and refused ones (the limit is spent, so the sidecar decides and answers by itself: the decision
// path without the upstream). Each sidecar gets its own load process with 16 sessions calling back to
// back (bench/proxy/load.ts). Figures per case are the median round: decisions/s per sidecar, p50 and
// p99 per call, what Redis adds to them (against the memory store, same case), and CPU per decision of
// the sidecar processes and of redis-server.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import type { RedisServer } from "../../test/support/redis.ts";
import { mcpPolicy } from "../../test/support/policy-yaml.ts";
import { startSidecarProcess, type SidecarProcess } from "../../test/support/sidecar-process.ts";
import { cpuSeconds } from "../proxy/proc.ts";
import { runLoad, startUpstream, type LoadResult } from "../proxy/processes.ts";
import { median } from "./load.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_MS = Number(process.env.BENCH_SIDECAR_SECONDS ?? 4) * 1_000;
const SESSIONS = 16;
const TOKEN = "bench-agent-key";

const policy = (store: "memory" | "redis", redisUrl: string) =>
  mcpPolicy(
    `default: deny
rateLimit: {store: ${store}${store === "redis" ? `, redis: {url: "${redisUrl}"}` : ""}}
allTools: {limits: [{counter: all-tools, window: minute, max: 1000000}]}
tools:
  - name: resume_execution
    limits: [{counter: resume, window: minute, max: 1000000}]
  - name: restart_execution
    limits: [{counter: restart, window: hour, max: 1}]`,
    "bench",
    { namespace: "bench" },
  );

const KINDS = {
  allowed: {
    label: "allowed, forwarded",
    request: { method: "tools/call", params: { name: "resume_execution", arguments: {} } },
  },
  refused: {
    label: "refused (limit spent)",
    request: {
      method: "tools/call",
      params: { name: "restart_execution", arguments: { namespace: "n", flow_id: "f" } },
    },
  },
} as const;

interface Row {
  store: "memory" | "redis";
  sidecars: number;
  kind: keyof typeof KINDS;
  perSidecar: number;
  p50: number;
  p99: number;
  sidecarCpu: number;
  redisCpu: number;
}

export async function benchThroughSidecars(redis: RedisServer): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-bench-rl-"));
  writeFileSync(join(dir, "keys"), `${grantLine("bench", TOKEN)}\n`);
  const upstream = await startUpstream();
  const fleets: Record<string, SidecarProcess[]> = {};
  const rows: Row[] = [];
  const redisCpu = async () => {
    const info = await redis.cli("info", "cpu");
    const seconds = (field: string) => Number(new RegExp(`^${field}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
    return seconds("used_cpu_user") + seconds("used_cpu_sys");
  };
  try {
    for (const store of ["memory", "redis"] as const) {
      writeFileSync(join(dir, `${store}.yaml`), policy(store, redis.url));
      fleets[store] = await Promise.all(
        [0, 1, 2].map(() =>
          startSidecarProcess({
            policy: join(dir, `${store}.yaml`),
            apiKeys: join(dir, "keys"),
            upstream: upstream.url,
            discardAudit: true,
          }),
        ),
      );
    }
    for (const kind of ["allowed", "refused"] as const) {
      for (const sidecars of [1, 3]) {
        for (const store of ["memory", "redis"] as const) {
          const fleet = (fleets[store] as SidecarProcess[]).slice(0, sidecars);
          rows.push({ store, sidecars, kind, ...(await measureCase(fleet, store, kind, redisCpu)) });
        }
      }
    }
  } finally {
    await Promise.all(
      Object.values(fleets)
        .flat()
        .map((s) => s.stop()),
    );
    await upstream.stop();
  }
  return rows;
}

type Round = Omit<Row, "store" | "sidecars" | "kind">;

/** One case (a fleet, a store, a kind of call): a warm-up, then the median of ROUNDS measured rounds. */
async function measureCase(
  fleet: SidecarProcess[],
  store: "memory" | "redis",
  kind: keyof typeof KINDS,
  redisCpu: () => Promise<number>,
): Promise<Round> {
  const load = (durationMs: number, warmupMs: number) =>
    Promise.all(
      fleet.map((s) =>
        runLoad({ url: s.url, sessions: SESSIONS, durationMs, warmupMs, request: KINDS[kind].request, token: TOKEN }),
      ),
    );
  // Warm-up (JIT, connections, and spending the refused tool's budget).
  await load(500, 0);
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const pids = fleet.map((s) => s.pid);
    const [cpuBefore, redisBefore] = [cpuSeconds(pids), await redisCpu()];
    const results: LoadResult[] = await load(DURATION_MS, 300);
    const failed = results.reduce((n, x) => n + x.errors, 0);
    if (failed > 0) throw new Error(`${store}, ${fleet.length} sidecar(s), ${kind}: ${failed} calls failed`);
    const calls = results.reduce((n, x) => n + x.total, 0);
    rounds.push({
      perSidecar: results.reduce((n, x) => n + x.throughput, 0) / fleet.length,
      p50: median(results.map((x) => x.p50)),
      p99: Math.max(...results.map((x) => x.p99)),
      sidecarCpu: ((cpuSeconds(pids) - cpuBefore) / calls) * 1e6,
      redisCpu: store === "redis" ? (((await redisCpu()) - redisBefore) / calls) * 1e6 : Number.NaN,
    });
  }
  return [...rounds].sort((a, b) => a.perSidecar - b.perSidecar)[rounds.length >> 1] as Round;
}

export function printThroughSidecars(rows: Row[]): string {
  const widths = [56, 14, 10, 10, 15, 15, 13, 11];
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("") + "\n";
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${ms(x)}`;
  let out = line([
    "case (16 sessions per sidecar)",
    "calls/s each",
    "p50",
    "p99",
    "p50 vs memory",
    "p99 vs memory",
    "sidecar CPU",
    "redis CPU",
  ]);
  for (const row of rows) {
    const memory = rows.find((m) => m.store === "memory" && m.sidecars === row.sidecars && m.kind === row.kind);
    const added =
      row.store === "redis" && memory ? [signed(row.p50 - memory.p50), signed(row.p99 - memory.p99)] : ["", ""];
    out += line([
      `${row.store}, ${row.sidecars === 1 ? "1 sidecar" : `${row.sidecars} sidecars${row.store === "redis" ? " sharing it" : ""}`}, ${KINDS[row.kind].label}`,
      Math.round(row.perSidecar).toLocaleString("en-US"),
      ms(row.p50),
      ms(row.p99),
      ...added,
      `${Math.round(row.sidecarCpu)} µs`,
      row.store === "redis" ? `${row.redisCpu.toFixed(1)} µs` : "",
    ]);
  }
  return out;
}
