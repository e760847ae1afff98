// State transitions of the elector, driven by a manual clock over an in-memory lease (the store is
// the elector's own storage port; the Kubernetes Lease store is tested against a real API server).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LeaseRecord } from "./lease-decision.ts";
import { LeaderElector, type LeaseStore, type StoredLease } from "./leader-election.ts";
import { ManualClock, flushMicrotasks } from "./manual-clock.testing.ts";

class MemoryLeaseStore implements LeaseStore {
  readonly description = "Lease test/lock";
  lease: StoredLease | undefined;
  version = 0;

  get(): Promise<StoredLease | undefined> {
    return Promise.resolve(this.lease && structuredClone(this.lease));
  }
  create(record: LeaseRecord): Promise<StoredLease> {
    if (this.lease) return Promise.reject(Object.assign(new Error("exists"), { statusCode: 409 }));
    this.lease = { record, resourceVersion: String(++this.version) };
    return Promise.resolve(structuredClone(this.lease));
  }
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease> {
    if (this.lease?.resourceVersion !== resourceVersion)
      return Promise.reject(Object.assign(new Error("conflict"), { statusCode: 409 }));
    this.lease = { record, resourceVersion: String(++this.version) };
    return Promise.resolve(structuredClone(this.lease));
  }
}

/** One replica's access to the shared lease, which can break on its own. */
class FlakyView implements LeaseStore {
  readonly description = "Lease test/lock";
  failing = false;
  readonly #store: LeaseStore;
  constructor(store: LeaseStore) {
    this.#store = store;
  }
  get(signal: AbortSignal) {
    return this.failing ? Promise.reject(new Error("API unreachable")) : this.#store.get(signal);
  }
  create(record: LeaseRecord, signal: AbortSignal) {
    return this.failing ? Promise.reject(new Error("API unreachable")) : this.#store.create(record, signal);
  }
  update(record: LeaseRecord, rv: string, signal: AbortSignal) {
    return this.failing ? Promise.reject(new Error("API unreachable")) : this.#store.update(record, rv, signal);
  }
}

function elector(store: LeaseStore, clock: ManualClock, identity: string, log: string[]) {
  return new LeaderElector({
    store,
    identity,
    clock,
    random: () => 0,
    onStartedLeading: (leadership) => {
      log.push(`${identity} started`);
      leadership.addEventListener("abort", () => log.push(`${identity} leadership aborted`));
    },
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });
}

describe("LeaderElector", () => {
  it("leads alone, renews every retry period, and releases the lease on shutdown", async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const a = elector(store, clock, "a", log);
    const stop = new AbortController();
    const running = a.run(stop.signal);
    await flushMicrotasks();
    assert.equal(a.state, "leader");
    assert.deepEqual(log, ["a started"]);
    const v = store.version;
    await clock.advance(2_000);
    assert.equal(store.version, v + 1, "renewed after one retry period");
    stop.abort();
    await clock.advance(0);
    await running;
    assert.equal(a.state, "stopped");
    assert.equal(store.lease?.record.holderIdentity, "", "released");
    assert.deepEqual(log, ["a started", "a leadership aborted", "a stopped"]);
  });

  it("keeps a second replica following until the leader stops renewing, then fails over", async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const viewA = new FlakyView(store);
    const log: string[] = [];
    const a = elector(viewA, clock, "a", log);
    const b = elector(store, clock, "b", log);
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.run(stopA.signal);
    await flushMicrotasks();
    const runB = b.run(stopB.signal);
    await clock.advance(30_000);
    assert.equal(a.state, "leader");
    assert.equal(b.state, "follower");
    assert.equal(b.leader, "a");

    // a loses API access: it steps down after the renew deadline, before the lease expires for b
    // (renew deadline 10 s < lease duration 15 s), so there is never a moment with two leaders.
    viewA.failing = true;
    const brokeAt = clock.now();
    let aSteppedDownAt = 0;
    let bLeadsAt = 0;
    for (let i = 0; i < 80 && !bLeadsAt; i++) {
      await clock.advance(500);
      if (!aSteppedDownAt && !a.isLeader) aSteppedDownAt = clock.now();
      if (!bLeadsAt && b.isLeader) bLeadsAt = clock.now();
      assert.ok(!(a.isLeader && b.isLeader), "two leaders at once");
    }
    assert.ok(
      aSteppedDownAt > 0 && aSteppedDownAt - brokeAt <= 12_000,
      `a stepped down ${aSteppedDownAt - brokeAt} ms after losing the API`,
    );
    assert.ok(bLeadsAt > aSteppedDownAt, "b leads only after a stepped down");
    assert.ok(bLeadsAt - brokeAt <= 15_000 + 2_500, `b took over ${bLeadsAt - brokeAt} ms after a's last renewal`);
    assert.equal(store.lease?.record.holderIdentity, "b");
    assert.equal(store.lease?.record.leaseTransitions, 1);
    assert.deepEqual(log, ["a started", "a leadership aborted", "a stopped", "b started"]);

    // a keeps campaigning and stays a follower once its API access returns.
    viewA.failing = false;
    await clock.advance(10_000);
    assert.equal(a.state, "follower");
    assert.equal(a.leader, "b");

    stopA.abort();
    stopB.abort();
    await clock.advance(5_000);
    await Promise.all([runA, runB]);
  });

  it("hands over immediately when the leader shuts down gracefully", async () => {
    const clock = new ManualClock();
    const store = new MemoryLeaseStore();
    const log: string[] = [];
    const a = elector(store, clock, "a", log);
    const b = elector(store, clock, "b", log);
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.run(stopA.signal);
    await flushMicrotasks();
    const runB = b.run(stopB.signal);
    await clock.advance(4_000);
    assert.equal(b.state, "follower");
    stopA.abort();
    await runA;
    await clock.advance(2_400); // one retry period (with jitter), far less than the 15 s lease
    assert.equal(b.state, "leader");
    stopB.abort();
    await clock.advance(0);
    await runB;
  });

  it("refuses timings that could give two leaders", () => {
    const store = new MemoryLeaseStore();
    assert.throws(
      () =>
        new LeaderElector({
          store,
          identity: "a",
          leaseDurationMs: 10_000,
          renewDeadlineMs: 10_000,
          onStartedLeading() {},
        }),
      /renew deadline/,
    );
  });
});
