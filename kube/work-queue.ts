// A de-duplicating work queue in the manner of client-go's workqueue: a key waits in the queue at
// most once, a key is never processed by two workers at once (a key added while it is being
// processed runs again afterwards), and failures are retried with per-key exponential backoff.
// Informer callbacks only add keys; reconcilers read current state when they take a key.
import { Backoff } from "./backoff.ts";
import { systemClock, type Clock, type TimerHandle } from "./clock.ts";

export interface WorkQueueOptions {
  clock?: Clock;
  /** Retry delays for `addRateLimited`: first delay and cap. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export class WorkQueue<K extends string = string> {
  readonly #clock: Clock;
  readonly #queue: K[] = [];
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #delayed = new Map<K, { at: number; timer: TimerHandle }>();
  readonly #failures = new Map<K, Backoff>();
  readonly #waiters: Array<(key: K | undefined) => void> = [];
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#retryInitialMs = options.retryInitialMs ?? 500;
    this.#retryMaxMs = options.retryMaxMs ?? 5 * 60_000;
  }

  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return; // done() puts it back
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else {
      this.#queue.push(key);
    }
  }

  /** Adds the key after a delay; a key already waiting keeps the earlier of the two times. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.#clock.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.#clock.schedule(ms, () => {
      this.#delayed.delete(key);
      this.add(key);
    });
    this.#delayed.set(key, { at, timer });
  }

  /** Retries a key that failed, waiting longer after each consecutive failure. */
  addRateLimited(key: K): void {
    let backoff = this.#failures.get(key);
    if (!backoff) {
      backoff = new Backoff({ initialMs: this.#retryInitialMs, maxMs: this.#retryMaxMs, jitter: 0.1 });
      this.#failures.set(key, backoff);
    }
    this.addAfter(key, backoff.next());
  }

  /** Consecutive failures of a key since it last succeeded. */
  failures(key: K): number {
    return this.#failures.get(key)?.attempts ?? 0;
  }

  /** The key succeeded: its next failure starts from the shortest delay again. */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /** The next key to process; undefined once the queue shuts down. Call done(key) afterwards. */
  get(): Promise<K | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  get length(): number {
    return this.#queue.length;
  }

  get processing(): number {
    return this.#processing.size;
  }

  /** Stops handing out keys; waiting workers get undefined. Keys in flight may still call done(). */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) timer.cancel();
    this.#delayed.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}

/**
 * Runs `workers` loops that take keys and reconcile them: success forgets the key's failures, an
 * error retries it with backoff. Resolves when the queue shuts down and every worker has finished.
 */
export async function processQueue<K extends string>(
  queue: WorkQueue<K>,
  workers: number,
  reconcile: (key: K) => Promise<void>,
  onError: (key: K, error: unknown) => void,
): Promise<void> {
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await reconcile(key);
        queue.forget(key);
      } catch (error) {
        onError(key, error);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}
