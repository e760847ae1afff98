// The soak's trend: the least-squares slope of a sampled figure against time.
export interface Sample {
  minute: number;
  rssMiB: number;
  heapMiB: number;
  sessions: number;
  cpuSeconds: number;
  calls: number;
  errors: number;
}

/** Slope (per minute) of the straight line that fits `key` over `samples` best. */
export function slopePerMinute(samples: readonly Sample[], key: "rssMiB" | "heapMiB"): number {
  const n = samples.length;
  if (n < 2) return Number.NaN;
  const meanX = samples.reduce((a, s) => a + s.minute, 0) / n;
  const meanY = samples.reduce((a, s) => a + s[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.minute - meanX) * (s[key] - meanY);
    den += (s.minute - meanX) ** 2;
  }
  return num / den;
}
