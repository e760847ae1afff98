// In-process rate-limit store: exact sliding windows, synchronous (so a check costs no promise),
// with idle budgets swept away so memory follows the callers seen within one window.
import { SlidingLog } from "./sliding-log.ts";
import type { ConsumeResult, LimitCheck, RateLimitStore, Reservation } from "./store.ts";

export interface MemoryStoreOptions {
  /** Milliseconds clock; injectable for tests. Must not go backwards. */
  now?: () => number;
  /** How often idle budgets are swept. */
  sweepIntervalMs?: number;
}

export class SlidingWindowMemoryStore implements RateLimitStore {
  private readonly logs = new Map<string, SlidingLog>();
  private readonly now: () => number;
  private readonly sweepIntervalMs: number;
  private lastSweep: number;
  private lastTime = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
    this.lastSweep = this.now();
  }

  /** Number of budgets held; for tests and the memory benchmark. */
  get size(): number {
    return this.logs.size;
  }

  consume(checks: readonly LimitCheck[]): ConsumeResult {
    // A clock that steps back (NTP) must not let a call in twice: time never decreases here.
    const now = Math.max(this.now(), this.lastTime);
    this.lastTime = now;
    if (now - this.lastSweep >= this.sweepIntervalMs) this.sweep(now);

    let blocked = -1;
    let retryAfterMs = 0;
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i] as LimitCheck;
      const log = this.logs.get(check.key);
      if (log === undefined) continue;
      log.prune(now - check.windowMs);
      log.windowMs = check.windowMs;
      if (log.size >= check.max) {
        // Room returns when enough of the oldest admissions leave the window.
        const wait = log.at(log.size - check.max) + check.windowMs - now;
        if (blocked === -1) blocked = i;
        if (wait > retryAfterMs) retryAfterMs = wait;
      }
    }
    if (blocked !== -1) return { admitted: false, blocked, retryAfterMs };

    const keys: string[] = [];
    for (const check of checks) {
      let log = this.logs.get(check.key);
      if (log === undefined) {
        log = new SlidingLog();
        this.logs.set(check.key, log);
      }
      log.windowMs = check.windowMs;
      log.push(now);
      keys.push(check.key);
    }
    return { admitted: true, reservation: { keys, token: now } };
  }

  refund(reservation: Reservation): void {
    for (const key of reservation.keys) this.logs.get(key)?.remove(reservation.token as number);
  }

  close(): Promise<void> {
    this.logs.clear();
    return Promise.resolve();
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, log] of this.logs) {
      if (log.newest <= now - log.windowMs) this.logs.delete(key);
    }
  }
}
