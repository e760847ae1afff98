// The soak benchmark (`npm run bench:soak -- --minutes 10`): a real sidecar process (the CLI) in front
// of the Kestra double, under steady traffic for a long time (bench/soak/traffic.ts: allowed, denied,
// rate-limited and listed calls from 10 agents, sessions with GET streams starting and ending all
// along). Every few seconds it samples the sidecar's resident memory (/proc) and V8 heap (its own
// /metrics), and at the end prints the samples, the trend (least-squares slope over the second half,
// when start-up and warm-up are over) and every error. Figures, not a verdict.
//
// Options: --minutes N (10), --rate CALLS_PER_SECOND (100), --sessions N (20), --store memory|redis,
// --sample-seconds N (5).
import { mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { startRedisServer, type RedisServer } from "../../test/support/redis.ts";
import { startSidecarProcess } from "../../test/support/sidecar-process.ts";
import { cpuSeconds } from "../proxy/proc.ts";
import { startUpstream } from "../proxy/processes.ts";
import { AGENTS, SOAK_POLICY, Traffic } from "./traffic.ts";
import { floorSlopePerMinute, slopePerMinute, type Sample } from "./trend.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "100" },
    sessions: { type: "string", default: "20" },
    store: { type: "string", default: "memory" },
    "sample-seconds": { type: "string", default: "5" },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const sampleMs = Number(values["sample-seconds"]) * 1000;
const store = values.store === "redis" ? "redis" : "memory";
const MiB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), "mcp-warden-soak-"));
writeFileSync(join(dir, "keys"), AGENTS.map((a) => grantLine(a.grant, a.key)).join("\n") + "\n");
let redis: RedisServer | undefined;
if (store === "redis") redis = await startRedisServer();
writeFileSync(
  join(dir, "policy.yaml"),
  SOAK_POLICY.replace(
    "  default: deny\n",
    `  default: deny\n${redis ? `  rateLimit: {store: redis, redis: {url: "${redis.url}"}}\n` : ""}`,
  ),
);
const upstream = await startUpstream();
const sidecar = await startSidecarProcess({
  policy: join(dir, "policy.yaml"),
  apiKeys: join(dir, "keys"),
  upstream: upstream.url,
  discardAudit: true,
});
const traffic = new Traffic(sidecar.url);
const samples: Sample[] = [];
const loadAverages: number[] = [];
const latencies: number[] = [];

async function sample(startedAt: number, cpuAtStart: number): Promise<Sample> {
  const metrics = await sidecar.metricsText();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1] ?? Number.NaN);
  const s: Sample = {
    minute: (performance.now() - startedAt) / 60_000,
    rssMiB: sidecar.rssBytes() / MiB,
    heapMiB: value("nodejs_heap_size_used_bytes") / MiB,
    sessions: value("mcp_warden_sessions"),
    cpuSeconds: cpuSeconds([sidecar.pid]) - cpuAtStart,
    calls: traffic.stats.sent,
    errors: traffic.stats.errors,
  };
  latencies.push(...traffic.takeLatencies());
  loadAverages.push(loadavg()[0] as number);
  return s;
}

try {
  await traffic.start(Number(values.sessions), rate, 10_000);
  const startedAt = performance.now();
  const cpuAtStart = cpuSeconds([sidecar.pid]);
  const endAt = startedAt + minutes * 60_000;
  while (performance.now() < endAt) {
    await new Promise((r) => setTimeout(r, Math.min(sampleMs, endAt - performance.now())));
    const s = await sample(startedAt, cpuAtStart);
    samples.push(s);
    if (samples.length % Math.max(1, Math.round(60_000 / sampleMs)) === 0) {
      process.stderr.write(
        `${s.minute.toFixed(1)} min: ${s.calls} calls, ${s.errors} errors, RSS ${s.rssMiB.toFixed(1)} MiB, heap ${s.heapMiB.toFixed(1)} MiB, ${s.sessions} sessions\n`,
      );
    }
  }
  await traffic.stop();
} finally {
  await sidecar.stop();
  await upstream.stop();
  await redis?.stop();
}

const last = samples.at(-1) as Sample;
const secondHalf = samples.filter((s) => s.minute >= minutes / 2);
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
const range = (key: "rssMiB" | "heapMiB") =>
  `${Math.min(...samples.map((s) => s[key])).toFixed(1)}–${Math.max(...samples.map((s) => s[key])).toFixed(1)} MiB`;
const out: string[] = [];
out.push(
  `Soak: ${minutes} min at ${rate} calls/s through a sidecar process (${store} store), ${values.sessions} sessions from ${AGENTS.length} agents, a session replaced every 10 s; node ${process.version}, ${cpus().length} CPUs shared (load average ${Math.min(...loadAverages).toFixed(1)}–${Math.max(...loadAverages).toFixed(1)})`,
);
out.push("");
out.push("minute   calls    errors   RSS MiB   heap MiB   sessions   sidecar CPU s");
for (const s of samples.filter((_, i) => (i + 1) % Math.max(1, Math.round(60_000 / sampleMs)) === 0 || i === 0)) {
  out.push(
    `${s.minute.toFixed(1).padStart(6)} ${String(s.calls).padStart(7)} ${String(s.errors).padStart(9)} ${s.rssMiB.toFixed(1).padStart(9)} ${s.heapMiB.toFixed(1).padStart(10)} ${String(s.sessions).padStart(10)} ${s.cpuSeconds.toFixed(1).padStart(15)}`,
  );
}
out.push("");
out.push(
  `calls: ${traffic.stats.sent} sent (${(traffic.stats.sent / (minutes * 60)).toFixed(1)}/s), answered ${JSON.stringify(traffic.stats.outcomes)}; sessions opened ${traffic.stats.sessionsOpened}, ended ${traffic.stats.sessionsEnded}`,
);
out.push(
  `latency: p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms; sidecar CPU ${((last.cpuSeconds / last.calls) * 1000).toFixed(2)} ms per call (${((last.cpuSeconds / (last.minute * 60)) * 100).toFixed(1)} % of a core)`,
);
const trends = (key: "rssMiB" | "heapMiB") =>
  `trend over the second half ${slopePerMinute(secondHalf, key).toFixed(3)} MiB/min (whole run ${slopePerMinute(samples, key).toFixed(3)} MiB/min); ` +
  `per-minute minimum ${floorSlopePerMinute(secondHalf, key).toFixed(3)} MiB/min over the second half (whole run ${floorSlopePerMinute(samples, key).toFixed(3)} MiB/min)`;
out.push(`RSS: ${range("rssMiB")}; ${trends("rssMiB")}`);
out.push(`heap used: ${range("heapMiB")}; ${trends("heapMiB")}`);
out.push(
  `errors: ${traffic.stats.errors}${traffic.stats.errorSamples.length ? `\n  ${traffic.stats.errorSamples.join("\n  ")}` : ""}`,
);
process.stdout.write(`${out.join("\n")}\n`);
if (traffic.stats.errors > 0) process.exitCode = 1;
