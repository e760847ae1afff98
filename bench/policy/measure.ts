// Timing helpers for micro-benchmarks: per-call latency from the monotonic clock minus the cost of
// reading it, and throughput from a separate untimed loop (so timer reads don't inflate it).
export interface Measurement {
  name: string;
  perSecond: number;
  /** Nanoseconds. */
  p50: number;
  p99: number;
}

function timerOverhead(): number {
  const n = 100_000;
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  samples.sort();
  return samples[n >> 1] as number;
}

let overhead: number | undefined;

export function measure(name: string, samples: number, fn: () => void): Measurement {
  overhead ??= timerOverhead();
  for (let i = 0; i < Math.min(samples, 50_000); i++) fn(); // warm up the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < samples; i++) fn();
  const perSecond = (samples / Number(process.hrtime.bigint() - start)) * 1e9;
  const times = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times[i] = Math.max(0, Number(process.hrtime.bigint() - t0) - overhead);
  }
  times.sort();
  return { name, perSecond, p50: times[samples >> 1] as number, p99: times[Math.floor(samples * 0.99)] as number };
}

export function formatRow(cells: string[]): string {
  const widths = [52, 14, 12, 12];
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("");
}
