// The proxy benchmark's tables: the summary (added latency over the upstream, proxy CPU per 1,000
// calls, resident memory) with the sidecar's ratios to ToolHive and to the bare Node passthrough, the
// details behind it, and a closing note that sets the ratios against the goals. Added latency is
// taken per repetition (each proxy against the upstream measured in the same round), then the median.
import type { LoadResult } from "./processes.ts";

export interface Column {
  /** Key of the target's cells. */
  name: string;
  title: string;
  /** A variant of the sidecar (another commit or other Node flags): shown, but no ratios. */
  variant?: boolean;
}
type Sample = LoadResult & { cpuPer1000: number };
/** `${workload}|${sessions}|${target}` → one sample per repetition. */
export type Cells = Map<string, Sample[]>;

interface Tables {
  columns: Column[];
  cells: Cells;
  idle: Record<string, number>;
  loaded: Record<string, number>;
  loadAverages: number[];
}

const median = (xs: number[]) =>
  xs.length ? ([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number) : Number.NaN;
const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const signed = (x: number, digits = 2) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(digits)}` : "–");
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN);
const times = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : "–");

export function printTables({ columns, cells, idle, loaded, loadAverages }: Tables): void {
  const samples = (w: string, s: number, t: string) => cells.get(`${w}|${s}|${t}`) ?? [];
  const med = (w: string, s: number, t: string, f: keyof Sample) => median(samples(w, s, t).map((r) => r[f]));
  /** Median over repetitions of (proxy − upstream) measured in the same repetition. */
  const added = (w: string, s: number, t: string, f: "p50" | "p99") => {
    const direct = samples(w, s, "direct");
    return median(samples(w, s, t).map((r, i) => r[f] - (direct[i]?.[f] ?? Number.NaN)));
  };
  const rows: { label: string; values: (t: string) => [number, number]; digits: number; sign?: boolean }[] = [
    {
      label: "added p50 / p99, small answer, one session (ms)",
      values: (t) => [added("small", 1, t, "p50"), added("small", 1, t, "p99")],
      digits: 2,
      sign: true,
    },
    {
      label: "added p50 / p99, 24 KB answer, one session (ms)",
      values: (t) => [added("large", 1, t, "p50"), added("large", 1, t, "p99")],
      digits: 2,
      sign: true,
    },
    {
      label: "CPU s per 1,000 calls, 16 sessions, small / 24 KB",
      values: (t) => [med("small", 16, t, "cpuPer1000"), med("large", 16, t, "cpuPer1000")],
      digits: 3,
    },
    {
      label: "RSS idle / 1,000 sessions with GET streams (MiB)",
      values: (t) => [idle[t] ?? Number.NaN, loaded[t] ?? Number.NaN],
      digits: 0,
    },
  ];
  const pair = (v: [number, number], digits: number, sign?: boolean) =>
    sign ? `${signed(v[0], digits)} / ${signed(v[1], digits)}` : `${fmt(v[0], digits)} / ${fmt(v[1], digits)}`;
  const ratios = (values: (t: string) => [number, number], versus: string) => {
    const [a, b] = [values("mw"), values(versus)];
    return `${times(ratio(a[0], b[0]))} / ${times(ratio(a[1], b[1]))}`;
  };

  console.log(`| | ${columns.map((c) => c.title).join(" | ")} | mw ÷ ToolHive | mw ÷ bare Node |`);
  console.log(`|---|${columns.map(() => "---|").join("")}---|---|`);
  for (const row of rows) {
    console.log(
      `| ${row.label} | ${columns.map((c) => pair(row.values(c.name), row.digits, row.sign)).join(" | ")} | ${ratios(row.values, "toolhive")} | ${ratios(row.values, "node")} |`,
    );
  }

  console.log("\n#### Details: latency p50 / p99 (ms), calls/s, load generator CPU s per 1,000 calls (its own cost)");
  console.log(`| answer, sessions | direct | ${columns.map((c) => c.title).join(" | ")} |`);
  console.log(`|---|---|${columns.map(() => "---|").join("")}`);
  for (const [w, label] of [
    ["small", "small"],
    ["large", "24 KB"],
  ] as const) {
    for (const s of [1, 16]) {
      const cell = (t: string) =>
        `${fmt(med(w, s, t, "p50"))} / ${fmt(med(w, s, t, "p99"))}, ${fmt(med(w, s, t, "throughput"), 0)}/s, client ${fmt(med(w, s, t, "clientCpuPer1000"), 3)}`;
      console.log(`| ${label}, ${s} | ${cell("direct")} | ${columns.map((c) => cell(c.name)).join(" | ")} |`);
    }
  }

  // The goals, each as the ratio measured in this run.
  const goal = (what: string, r: number, limit: number) =>
    `${what}: ${times(r)} (goal ≤ ${limit}×) ${Number.isFinite(r) ? (r <= limit ? "met" : "not met") : ""}`;
  const v = (i: number) => rows[i]?.values as (t: string) => [number, number];
  const notes = [
    goal("RSS idle, mw ÷ ToolHive", ratio(v(3)("mw")[0], v(3)("toolhive")[0]), 0.9),
    goal("RSS with 1,000 sessions, mw ÷ ToolHive", ratio(v(3)("mw")[1], v(3)("toolhive")[1]), 0.9),
    goal("added p99 with 24 KB answers, mw ÷ ToolHive", ratio(v(1)("mw")[1], v(1)("toolhive")[1]), 1),
    goal("added p50 small, mw ÷ ToolHive", ratio(v(0)("mw")[0], v(0)("toolhive")[0]), 0.9),
    goal("added p50 24 KB, mw ÷ ToolHive", ratio(v(1)("mw")[0], v(1)("toolhive")[0]), 0.9),
    goal("CPU per call small, mw ÷ ToolHive", ratio(v(2)("mw")[0], v(2)("toolhive")[0]), 0.6),
    goal("CPU per call 24 KB, mw ÷ ToolHive", ratio(v(2)("mw")[1], v(2)("toolhive")[1]), 0.6),
    goal("CPU per call small, mw ÷ bare Node", ratio(v(2)("mw")[0], v(2)("node")[0]), 1.6),
    goal("CPU per call 24 KB, mw ÷ bare Node", ratio(v(2)("mw")[1], v(2)("node")[1]), 1.6),
  ];
  console.log(`\nOne run, load average ${loadAverages.map((l) => l.toFixed(1)).join(" at start, ")} at the end:`);
  for (const n of notes) console.log(`- ${n}`);
}
