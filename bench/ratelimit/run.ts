// Rate-limit store benchmark: decisions per second, latency (p50/p99) and CPU per decision of a full
// decision with two limits (decideToolCall), for the memory store and for the Redis store on a real
// redis-server on loopback: one client, three clients in one process, and three client processes
// sharing one Redis (three sidecar replicas). Each case runs several rounds; the table shows the
// median round. CPU per decision (this process, and Redis from INFO cpu) does not depend on how busy
// the machine is, so it also says what a dedicated core would sustain.
// Prints figures; never passes or fails on time. Run: npm run bench:ratelimit
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cpus } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SlidingWindowMemoryStore } from "../../policy/ratelimit/memory-store.ts";
import { RedisSlidingWindowStore } from "../../sidecar/ratelimit/redis-store.ts";
import { parseRedisUrl } from "../../policy/ratelimit/redis-target.ts";
import type { RateLimitStore } from "../../policy/ratelimit/store.ts";
import { startRedisServer } from "../../test/support/redis.ts";
import { benchCalls, benchPolicy, median, runLoad, type LoadResult } from "./load.ts";
import { benchThroughSidecars, printThroughSidecars } from "./through-sidecars.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 2) * 1_000;
const GRANTS = 1_000;
const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));

interface Round {
  clients: LoadResult[];
  /** CPU of the benchmark process(es) and of redis-server during the round, microseconds. */
  clientCpuMicros: number;
  redisCpuMicros: number;
}

interface Row {
  name: string;
  store: "memory" | "redis";
  inFlight: number;
  rounds: Round[];
}

let throughSidecars: Awaited<ReturnType<typeof benchThroughSidecars>> | undefined;
const policy = benchPolicy(1_000_000);
const calls = benchCalls(GRANTS);
const rows: Row[] = [];
const server = await startRedisServer();
const redisVersion = /redis_version:(\S+)/.exec(await server.cli("info", "server"))?.[1] ?? "?";

async function redisCpuMicros(): Promise<number> {
  const info = await server.cli("info", "cpu");
  const seconds = (field: string) => Number(new RegExp(`^${field}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1e6;
}

function openRedis(prefix: string): Promise<RedisSlidingWindowStore> {
  const store = new RedisSlidingWindowStore({ target: parseRedisUrl(server.url), keyPrefix: prefix, timeoutMs: 250 });
  return store.waitUntilAvailable(5_000).then(() => store);
}

async function inProcess(
  name: string,
  stores: RateLimitStore[],
  inFlight: number,
  casePolicy = policy,
  caseCalls = calls,
): Promise<void> {
  // A warm-up round (JIT, script cache, connections), then the measured rounds.
  await Promise.all(stores.map((s) => runLoad(casePolicy, caseCalls, s, { concurrency: inFlight, durationMs: 500 })));
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const redisBefore = await redisCpuMicros();
    const cpu = process.cpuUsage();
    const clients = await Promise.all(
      stores.map((s) => runLoad(casePolicy, caseCalls, s, { concurrency: inFlight, durationMs: DURATION_MS })),
    );
    const used = process.cpuUsage(cpu);
    rounds.push({
      clients,
      clientCpuMicros: used.user + used.system,
      redisCpuMicros: (await redisCpuMicros()) - redisBefore,
    });
  }
  rows.push({ name, store: stores[0] instanceof SlidingWindowMemoryStore ? "memory" : "redis", inFlight, rounds });
  await Promise.all(stores.map((s) => s.close()));
  await server.cli("flushall");
}

async function inProcesses(name: string, processes: number, inFlight: number): Promise<void> {
  const children = Array.from({ length: processes }, () =>
    spawn(
      process.execPath,
      [WORKER, server.url, "bench-processes:", String(inFlight), String(DURATION_MS), String(GRANTS)],
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    ),
  );
  const readers = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
  const nextLine = async (i: number) => {
    const line = await (readers[i] as AsyncIterator<string>).next();
    if (line.done) throw new Error(`benchmark worker ${i} exited early`);
    return line.value;
  };
  await Promise.all(children.map((_, i) => nextLine(i)));
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const redisBefore = await redisCpuMicros();
    for (const c of children) c.stdin.write("go\n");
    const clients = await Promise.all(children.map(async (_, i) => JSON.parse(await nextLine(i)) as LoadResult));
    const redisCpu = (await redisCpuMicros()) - redisBefore;
    rounds.push({
      clients,
      clientCpuMicros: clients.reduce((sum, c) => sum + c.cpuMicros, 0),
      redisCpuMicros: redisCpu,
    });
  }
  for (const c of children) c.stdin.end();
  await Promise.all(children.map((c) => once(c, "exit")));
  rows.push({ name, store: "redis", inFlight, rounds });
  await server.cli("flushall");
}

try {
  await inProcess("memory store, 1 in flight", [new SlidingWindowMemoryStore()], 1);
  await inProcess("memory store, 16 in flight", [new SlidingWindowMemoryStore()], 16);
  await inProcess("redis, 1 client, 1 in flight", [await openRedis("bench-1:")], 1);
  await inProcess("redis, 1 client, 16 in flight", [await openRedis("bench-16:")], 16);
  await inProcess("redis, 1 client, 64 in flight", [await openRedis("bench-64:")], 64);
  await inProcess(
    "redis, 1 client, 16 in flight, all refused",
    [await openRedis("bench-refused:")],
    16,
    benchPolicy(10),
    benchCalls(1),
  );
  await inProcess(
    "redis, 3 clients in 1 process, 16 each",
    await Promise.all([1, 2, 3].map(() => openRedis("bench-3:"))),
    16,
  );
  await inProcesses("redis, 3 client processes, 16 each", 3, 16);
  if (!process.argv.includes("--stores-only")) throughSidecars = await benchThroughSidecars(server);
} finally {
  await server.stop();
}

// Per row, the median round by total throughput. Per client: decisions/s averaged over the clients;
// p50 is the median of the clients' p50s, p99 the worst client's p99.
const summary = rows.map((row) => {
  const perRound = row.rounds.map((round) => {
    const decisions = round.clients.reduce((sum, c) => sum + c.decisions, 0);
    return {
      total: round.clients.reduce((sum, c) => sum + c.decisions / c.seconds, 0),
      p50: median(round.clients.map((c) => c.p50)),
      p99: Math.max(...round.clients.map((c) => c.p99)),
      clientCpu: round.clientCpuMicros / decisions,
      redisCpu: round.redisCpuMicros / decisions,
    };
  });
  const mid = [...perRound].sort((a, b) => a.total - b.total)[perRound.length >> 1] as (typeof perRound)[number];
  return { ...row, ...mid, perClient: mid.total / (row.rounds[0]?.clients.length ?? 1) };
});

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const time = (us: number) => (us >= 1_000 ? `${(us / 1_000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
const widths = [44, 13, 12, 10, 10, 13, 12, 12];
const line = (cells: string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("") + "\n";

process.stdout.write(
  `Rate-limit store benchmark (node ${process.version}, redis-server ${redisVersion} on loopback, ${cpus().length} CPUs shared with ` +
    `whatever else runs; decideToolCall with 2 limits over ${GRANTS} callers; ${ROUNDS} rounds of ${DURATION_MS / 1000} s, median round)\n\n`,
);
process.stdout.write(
  line(["case", "decisions/s", "per client", "p50", "p99", "p50 vs mem", "client CPU", "redis CPU"]),
);
for (const s of summary) {
  const memory = summary.find((m) => m.store === "memory" && m.inFlight === s.inFlight);
  process.stdout.write(
    line([
      s.name,
      fmt(s.total),
      fmt(s.perClient),
      time(s.p50),
      time(s.p99),
      s.store === "memory" || !memory ? "" : `+${time(s.p50 - memory.p50)}`,
      `${s.clientCpu.toFixed(1)} µs`,
      s.store === "memory" ? "" : `${s.redisCpu.toFixed(1)} µs`,
    ]),
  );
}
process.stdout.write(
  `\nCPU columns are per decision. A dedicated core sustains about 1,000,000 / CPU µs decisions per second: ` +
    `the client (sidecar) side scales with replicas, the Redis side is shared by all of them (one core per ` +
    `Redis process; Redis Cluster spreads callers over masters).\n`,
);
const ratio = (a: string, b: string) => {
  const x = summary.find((s) => s.name === a);
  const y = summary.find((s) => s.name === b);
  return x && y ? (x.perClient / y.perClient).toFixed(3) : "?";
};
process.stdout.write(
  `Throughput ratios (per client): redis/memory at 16 in flight ${ratio("redis, 1 client, 16 in flight", "memory store, 16 in flight")}; ` +
    `3 processes/1 client ${ratio("redis, 3 client processes, 16 each", "redis, 1 client, 16 in flight")}.\n`,
);
process.stdout.write(`\nTarget: Redis store ≥ 20,000 decisions/s per client with p99 ≤ 2 ms on loopback.\n`);
for (const s of summary.filter((x) => x.store === "redis" && x.inFlight > 1 && !x.name.includes("refused"))) {
  const met = s.perClient >= 20_000 && s.p99 <= 2_000;
  process.stdout.write(
    `  ${s.name}: ${fmt(s.perClient)}/s per client, p99 ${time(s.p99)}: ${met ? "met" : "not met"} in this run\n`,
  );
}
if (throughSidecars) {
  process.stdout.write(
    `\nThrough sidecar processes (the CLI, HTTP from a load process per sidecar; median of ${ROUNDS} rounds; CPU per call; ` +
      `"vs memory" is what the Redis round trip adds over the memory store in the same case):\n\n`,
  );
  process.stdout.write(printThroughSidecars(throughSidecars));
}
