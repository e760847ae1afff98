// Leader election on a coordination.k8s.io/v1 Lease (client-node has none): replicas try to take
// the lease every retry period; the leader renews it every retry period and steps down when it has
// not managed to renew within the renew deadline, which is shorter than the lease duration, so it
// stops before anyone else may start. Stopping gracefully gives the lease up at once.
// Defaults are Kubernetes' own: 15 s lease, 10 s renew deadline, 2 s retry period.
import { describeApiError } from "./api-errors.ts";
import { systemClock, type Clock } from "./clock.ts";
import { decideLease, observe, releasedRecord, type LeaseObservation, type LeaseRecord } from "./lease-decision.ts";
import { silentLogger, type Logger } from "./logger.ts";

export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** Where the lease lives; the Kubernetes implementation is in lease-store.ts. */
export interface LeaseStore {
  readonly description: string;
  get(signal: AbortSignal): Promise<StoredLease | undefined>;
  /** Fails (409) when the lease already exists. */
  create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease>;
  /** Fails (409) when resourceVersion is no longer current. */
  update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<StoredLease>;
}

export interface LeaderElectorOptions {
  store: LeaseStore;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  /** Called on becoming leader; `leadership` aborts when leadership ends. */
  onStartedLeading: (leadership: AbortSignal) => void;
  /** Called when leadership ends (lost, or given up at shutdown). */
  onStoppedLeading?: () => void;
  /** Called when the observed leader changes (including to this replica). */
  onNewLeader?: (identity: string) => void;
}

export type ElectorState = "follower" | "leader" | "stopped";

export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectorOptions, "onStoppedLeading" | "onNewLeader">> &
    Pick<LeaderElectorOptions, "onStoppedLeading" | "onNewLeader">;
  #observation: LeaseObservation | undefined;
  #state: ElectorState = "follower";
  #leader: string | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      clock: systemClock,
      logger: silentLogger,
      random: Math.random,
      ...options,
    };
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs)
      throw new Error("renew deadline must be shorter than the lease duration");
    if (this.#o.retryPeriodMs * 1.2 >= this.#o.renewDeadlineMs)
      throw new Error("retry period (with jitter) must be shorter than the renew deadline");
  }

  get state(): ElectorState {
    return this.#state;
  }

  get isLeader(): boolean {
    return this.#state === "leader";
  }

  /** The identity of the current leader as last observed. */
  get leader(): string | undefined {
    return this.#leader;
  }

  /** Campaigns, leads and campaigns again until `signal` aborts; then gives the lease up if held. */
  async run(signal: AbortSignal): Promise<void> {
    const log = this.#o.logger;
    while (!signal.aborted) {
      if (!(await this.#acquire(signal))) break;
      this.#state = "leader";
      log.info({ lease: this.#o.store.description, identity: this.#o.identity }, "became leader");
      const leadership = new AbortController();
      this.#o.onStartedLeading(leadership.signal);
      await this.#renew(signal);
      this.#state = "follower";
      leadership.abort();
      this.#o.onStoppedLeading?.();
      if (signal.aborted) {
        await this.#release();
        break;
      }
      log.warn(
        { lease: this.#o.store.description, identity: this.#o.identity },
        "lost leadership: could not renew the lease in time",
      );
    }
    this.#state = "stopped";
  }

  /** Tries until the lease is ours; false when `signal` aborted first. */
  async #acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(signal, this.#o.retryPeriodMs)) return true;
      await this.#o.clock.sleep(this.#o.retryPeriodMs * (1 + 0.2 * this.#o.random()), signal);
    }
    return false;
  }

  /** Renews every retry period; returns when a renewal deadline passes or `signal` aborts. */
  async #renew(signal: AbortSignal): Promise<void> {
    let lastRenewal = this.#o.clock.now();
    while (!signal.aborted) {
      await this.#o.clock.sleep(this.#o.retryPeriodMs, signal);
      if (signal.aborted) return;
      const remaining = lastRenewal + this.#o.renewDeadlineMs - this.#o.clock.now();
      if (remaining > 0 && (await this.#tryAcquireOrRenew(signal, remaining))) {
        lastRenewal = this.#o.clock.now();
        continue;
      }
      if (this.#o.clock.now() - lastRenewal >= this.#o.renewDeadlineMs) return;
    }
  }

  /** One attempt, bounded by `timeoutMs`; true when this replica holds the lease afterwards. */
  async #tryAcquireOrRenew(signal: AbortSignal, timeoutMs: number): Promise<boolean> {
    const attempt = new AbortController();
    const timer = this.#o.clock.schedule(timeoutMs, () => attempt.abort());
    const onAbort = () => attempt.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const stored = await this.#o.store.get(attempt.signal);
      const now = this.#o.clock.now();
      const decision = decideLease({
        identity: this.#o.identity,
        now,
        leaseDurationMs: this.#o.leaseDurationMs,
        current: stored?.record,
        previous: this.#observation,
      });
      if (stored) this.#observation = observe(this.#observation, stored.record, now);
      if (decision.action === "wait") {
        this.#setLeader(decision.holder);
        return false;
      }
      const written =
        decision.action === "create"
          ? await this.#o.store.create(decision.record, attempt.signal)
          : await this.#o.store.update(decision.record, (stored as StoredLease).resourceVersion, attempt.signal);
      this.#observation = { record: written.record, observedAt: this.#o.clock.now() };
      this.#setLeader(this.#o.identity);
      return true;
    } catch (error) {
      if (!signal.aborted) {
        this.#o.logger.debug(
          { lease: this.#o.store.description, error: describeApiError(error) },
          "lease attempt failed",
        );
      }
      return false;
    } finally {
      timer.cancel();
      signal.removeEventListener("abort", onAbort);
    }
  }

  async #release(): Promise<void> {
    const attempt = new AbortController();
    const timer = this.#o.clock.schedule(this.#o.retryPeriodMs, () => attempt.abort());
    try {
      const stored = await this.#o.store.get(attempt.signal);
      if (!stored || stored.record.holderIdentity !== this.#o.identity) return;
      await this.#o.store.update(
        releasedRecord(stored.record, this.#o.clock.now()),
        stored.resourceVersion,
        attempt.signal,
      );
      this.#o.logger.info({ lease: this.#o.store.description }, "released the lease");
    } catch (error) {
      this.#o.logger.warn(
        { lease: this.#o.store.description, error: describeApiError(error) },
        "could not release the lease; it expires on its own",
      );
    } finally {
      timer.cancel();
    }
  }

  #setLeader(identity: string): void {
    if (identity === this.#leader) return;
    this.#leader = identity;
    this.#o.onNewLeader?.(identity);
  }
}
