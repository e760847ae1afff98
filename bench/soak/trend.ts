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

/**
 * Slope (per minute) of the per-window minimum of `key`: the floor the garbage collector brings memory
 * back to. A leak raises the floor; a heap that merely fills up between major collections does not.
 */
export function floorSlopePerMinute(samples: readonly Sample[], key: "rssMiB" | "heapMiB", windowMinutes = 1): number {
  const floors = new Map<number, Sample>();
  for (const s of samples) {
    const window = Math.floor(s.minute / windowMinutes);
    const floor = floors.get(window);
    if (!floor || s[key] < floor[key]) floors.set(window, s);
  }
  return slopePerMinute([...floors.values()], key);
}
