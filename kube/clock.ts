// Time as a dependency: everything in kube/ that waits or schedules takes a Clock, so tests drive
// time explicitly instead of sleeping.
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` after `ms` milliseconds; timers never keep the process alive on their own. */
  schedule(ms: number, fn: () => void): TimerHandle;
  /** Resolves after `ms` milliseconds, or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  sleep(ms, signal) {
    return sleepOn(this, ms, signal);
  },
};

/** `sleep` for any Clock, built on its `schedule`. */
export function sleepOn(clock: Pick<Clock, "schedule">, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      handle.cancel();
      resolve();
    };
    const handle = clock.schedule(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
