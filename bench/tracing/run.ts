// What tracing costs a tool call: three real sidecar processes side by side in one run, tracing
// off, on at sampling 1.0 and on at 0.01, exporting to a real OpenTelemetry Collector (the one the
// tracing suites build). Calls are sequential on one session each, in interleaved rounds (each
// round visits the three sidecars in a rotated order) so that the machine's noise falls on all
// three alike. Per sidecar: median and p99 of the client-side latency of a tools/call, and the
// sidecar process's CPU time per call (/proc), each with its difference from tracing off.
// Prints figures; never passes or fails on time.
// Run: npm run bench:tracing (BENCH_CALLS per round and sidecar, BENCH_ROUNDS)
import { performance } from "node:perf_hooks";
import { cpuSeconds } from "../proxy/proc.ts";
import { rawInitialize, rawPost, toolCall } from "../../test/support/raw-mcp.ts";
import { KEYS } from "../../test/support/sidecar-harness.ts";
import { mcpPolicy } from "../../test/support/policy-yaml.ts";
import { sidecarFiles, startSidecarProcess, type SidecarProcess } from "../../test/support/sidecar-process.ts";
import { startCollector } from "../../test/tracing/otel-collector.ts";
import { startRecordingUpstream } from "../../test/tracing/recording-upstream.ts";

const CALLS = Number(process.env.BENCH_CALLS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP = 200;
const MODES = [
  { name: "tracing off", args: [] as string[] },
  { name: "tracing on, sampling 1.0", args: ["--tracing", "otlp", "--trace-sampling-ratio", "1"] },
  { name: "tracing on, sampling 0.01", args: ["--tracing", "otlp", "--trace-sampling-ratio", "0.01"] },
];

interface Subject {
  name: string;
  sidecar: SidecarProcess;
  session: string;
  latencies: number[];
  cpu: number;
  calls: number;
}

const collector = await startCollector();
const upstream = await startRecordingUpstream({ record: false });
const files = sidecarFiles(mcpPolicy("default: allow"));
const auth = { authorization: `Bearer ${KEYS.alice}` };
const subjects: Subject[] = [];
try {
  for (const [i, mode] of MODES.entries()) {
    const sidecar = await startSidecarProcess({
      policy: files.policy,
      apiKeys: files.apiKeys,
      upstream: upstream.url,
      args: mode.args,
      discardAudit: true,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: "1000",
        OTEL_SERVICE_NAME: `bench-sidecar-${i}`,
      },
    });
    subjects.push({
      name: mode.name,
      sidecar,
      session: await rawInitialize(sidecar.url, auth),
      latencies: [],
      cpu: 0,
      calls: 0,
    });
  }
  let id = 0;
  const callOnce = async (s: Subject) => {
    const answer = await rawPost(s.sidecar.url, toolCall(id++, "list_flows"), {
      ...auth,
      "mcp-session-id": s.session,
      "mcp-protocol-version": "2025-03-26",
    });
    if (answer.status !== 200) throw new Error(`${s.name}: HTTP ${answer.status} ${answer.text}`);
  };
  for (const s of subjects) for (let i = 0; i < WARMUP; i++) await callOnce(s);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < subjects.length; k++) {
      const s = subjects[(round + k) % subjects.length] as Subject;
      const cpuBefore = cpuSeconds([s.sidecar.pid]);
      for (let i = 0; i < CALLS; i++) {
        const started = performance.now();
        await callOnce(s);
        s.latencies.push(performance.now() - started);
      }
      s.cpu += cpuSeconds([s.sidecar.pid]) - cpuBefore;
      s.calls += CALLS;
    }
  }
  // Let the sampled sidecars export what they queued, to count what reached the collector.
  await new Promise((r) => setTimeout(r, 1500));
  const spans = collector.spans();
  const base = figures(subjects[0] as Subject);
  console.log(
    `tracing cost per tools/call: ${ROUNDS} rounds × ${CALLS} sequential calls per sidecar (Node ${process.version}), a real collector receiving`,
  );
  console.log(row(["sidecar", "p50 µs", "p99 µs", "+p50 µs", "CPU µs/call", "+CPU µs/call", "spans/call exported"]));
  for (const [i, s] of subjects.entries()) {
    const f = figures(s);
    const exported = spans.filter((span) => span.service === `bench-sidecar-${i}`).length / (s.calls + WARMUP);
    console.log(
      row([
        s.name,
        f.p50.toFixed(0),
        f.p99.toFixed(0),
        (f.p50 - base.p50).toFixed(0),
        f.cpu.toFixed(0),
        (f.cpu - base.cpu).toFixed(0),
        exported.toFixed(2),
      ]),
    );
  }
  const dropped = await Promise.all(subjects.map((s) => s.sidecar.metricSum("mcp_warden_spans_dropped_total")));
  console.log(
    `spans dropped: ${dropped.join(" / ")}; the collector received ${spans.length} spans in all (both tracing sidecars)`,
  );
} finally {
  await Promise.all(subjects.map((s) => s.sidecar.stop()));
  await upstream.close();
  await collector.stop();
}

function figures(s: Subject): { p50: number; p99: number; cpu: number } {
  const sorted = [...s.latencies].sort((a, b) => a - b);
  const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) * 1000;
  return { p50: at(0.5), p99: at(0.99), cpu: (s.cpu / s.calls) * 1e6 };
}

function row(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(28) : c.padStart(i === 6 ? 20 : 13))).join("");
}
