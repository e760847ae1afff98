// Waiting for what a test cannot await directly (controllers, informers, start-up, a log line, a
// counter): the one polling helper of the suites, with a deadline and a failure message that says
// what was awaited and what was last seen.
import { setTimeout as sleep } from "node:timers/promises";

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Retries `check` until it returns without throwing, and returns its result. On timeout, throws the
 * last error (an assertion's message stays intact), prefixed with how long it was tried.
 *
 * Given `what`, `check` is a condition instead: it is polled every 10 ms until it returns true, for
 * at most `timeoutMs` (10 s), and a timeout says it "timed out waiting for <what>".
 */
export async function eventually<T>(check: () => Promise<T> | T, options?: WaitOptions): Promise<T>;
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs?: number,
): Promise<void>;
export async function eventually<T>(
  check: () => Promise<T> | T,
  optionsOrWhat: WaitOptions | string = {},
  timeoutMs = 10_000,
): Promise<T | void> {
  if (typeof optionsOrWhat === "string") {
    const what = optionsOrWhat;
    return eventually(
      async () => {
        if (!(await check())) throw new Error(`timed out waiting for ${what}`);
      },
      { timeoutMs, intervalMs: 10 },
    );
  }
  const timeout = optionsOrWhat.timeoutMs ?? 30_000;
  const deadline = performance.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (performance.now() >= deadline) {
        if (error instanceof Error) {
          error.message = `still failing after ${timeout / 1000}s: ${error.message}`;
          throw error;
        }
        throw new Error(`still failing after ${timeout / 1000}s: ${String(error)}`, { cause: error });
      }
    }
    await sleep(optionsOrWhat.intervalMs ?? 200);
  }
}
