// The behaviour every RateLimitStore must show, as node:test tests any store can be run through:
// exact sliding windows, all-or-nothing calls, retry hints, refunds and atomicity. Stores are created
// on an injected millisecond clock, so windows are tested deterministically without waiting.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test, type TestContext } from "node:test";
import type { ConsumeResult, LimitCheck, RateLimitStore, Reservation } from "./store.ts";

export type StoreFactory = (clock: () => number) => RateLimitStore | Promise<RateLimitStore>;

const T0 = 1_800_000_000_000;
const SECOND = 1_000;
const MINUTE = 60_000;

/** Drives one store on its own clock, with budget keys no other test uses. */
class Harness {
  now = T0;
  private readonly namespace = `conformance-${randomBytes(6).toString("hex")}`;
  store!: RateLimitStore;

  budget(name: string, max: number, windowMs: number, partition = "caller"): LimitCheck {
    return { key: `${this.namespace}|${name}`, max, windowMs, partition };
  }

  async consume(...checks: LimitCheck[]): Promise<ConsumeResult> {
    return this.store.consume(checks);
  }

  async admit(...checks: LimitCheck[]): Promise<Reservation> {
    const result = await this.consume(...checks);
    assert.ok(result.admitted, `expected admission at +${this.now - T0} ms, got ${JSON.stringify(result)}`);
    return result.reservation;
  }

  async refuse(checks: LimitCheck[], blocked: number, retryAfterMs: number): Promise<void> {
    const result = await this.consume(...checks);
    assert.deepEqual(result, { admitted: false, blocked, retryAfterMs }, `at +${this.now - T0} ms`);
  }

  at(offsetMs: number): this {
    this.now = T0 + offsetMs;
    return this;
  }
}

/** Registers the conformance tests for stores made by `factory` under `describe(name)`. */
export function describeStoreConformance(name: string, factory: StoreFactory): void {
  const run = (title: string, body: (h: Harness) => Promise<void>): void => {
    test(title, async (t: TestContext) => {
      const harness = new Harness();
      const store = await factory(() => harness.now);
      harness.store = store;
      t.after(() => store.close());
      await body(harness);
    });
  };

  describe(`${name}: rate-limit store conformance`, () => {
    run("admits max calls in one window, then refuses until the oldest admission leaves", async (h) => {
      const b = h.budget("b", 3, SECOND);
      await h.at(0).admit(b);
      await h.at(100).admit(b);
      await h.at(200).admit(b);
      await h.at(300).refuse([b], 0, 700);
      await h.at(999).refuse([b], 0, 1);
      // The first admission leaves at exactly +1000: one more fits, and the next wait is for the second.
      await h.at(1000).admit(b);
      await h.at(1001).refuse([b], 0, 99);
      await h.at(1100).admit(b);
    });

    run("counts every interval of one window length, not fixed buckets", async (h) => {
      const b = h.budget("b", 2, SECOND);
      await h.at(900).admit(b);
      await h.at(1000).admit(b);
      // A fixed one-second bucket starting at +1000 would admit here; the sliding window does not.
      await h.at(1100).refuse([b], 0, 800);
      await h.at(1899).refuse([b], 0, 1);
      await h.at(1900).admit(b);
      await h.at(1950).refuse([b], 0, 50);
    });

    run("admits a call only if every budget has room, and then consumes every one", async (h) => {
      const wide = h.budget("wide", 3, MINUTE);
      const narrow = h.budget("narrow", 2, MINUTE);
      await h.at(0).admit(wide, narrow);
      await h.at(1).admit(wide, narrow);
      await h.at(2).refuse([wide, narrow], 1, MINUTE - 2);
      // The refused call took nothing from `wide`: exactly one admission is left there.
      await h.at(3).admit(wide);
      await h.at(4).refuse([wide], 0, MINUTE - 4);
    });

    run("names the first full budget and waits for the one that frees last", async (h) => {
      const a = h.budget("a", 1, SECOND);
      const b = h.budget("b", 1, SECOND);
      const c = h.budget("c", 5, SECOND);
      await h.at(0).admit(a);
      await h.at(500).admit(b);
      await h.at(600).refuse([c, b, a], 1, 900);
      await h.at(600).refuse([c, a, b], 1, 900);
      await h.at(1000).refuse([c, a, b], 2, 500);
      await h.at(1500).admit(c, a, b);
    });

    run("keeps budgets apart, comparing keys exactly", async (h) => {
      const names = ["k", "K", "k ", "k|grant|a", "k|grant|a}", "{k}", "k{a}b", "ключ", "k\u0000x"];
      for (const n of names) await h.at(0).admit(h.budget(n, 1, MINUTE));
      for (const n of names) await h.at(1).refuse([h.budget(n, 1, MINUTE)], 0, MINUTE - 1);
    });

    run("keeps budgets of different callers apart", async (h) => {
      const alice = h.budget("tool|grant|alice", 1, MINUTE, "alice");
      const bob = h.budget("tool|grant|bob", 1, MINUTE, "bob");
      await h.at(0).admit(alice);
      await h.at(0).admit(bob);
      await h.at(1).refuse([alice], 0, MINUTE - 1);
      await h.at(1).refuse([bob], 0, MINUTE - 1);
    });

    run("gives each budget its own window", async (h) => {
      const short = h.budget("short", 1, SECOND);
      const long = h.budget("long", 1, 5 * SECOND);
      await h.at(0).admit(short, long);
      await h.at(1000).admit(short);
      await h.at(1000).refuse([short, long], 0, 4000);
      await h.at(2000).refuse([short, long], 1, 3000);
      await h.at(5000).admit(short, long);
    });

    run("a refund gives the admission back to every budget it names", async (h) => {
      const a = h.budget("a", 1, MINUTE);
      const b = h.budget("b", 1, MINUTE);
      const reservation = await h.at(0).admit(a, b);
      await h.at(10).refuse([a, b], 0, MINUTE - 10);
      await h.store.refund(reservation);
      await h.at(20).admit(a, b);
      await h.at(30).refuse([b], 0, MINUTE - 10);
    });

    run("a refund of some budgets leaves the others consumed", async (h) => {
      const refundable = h.budget("refundable", 1, MINUTE);
      const kept = h.budget("kept", 1, MINUTE);
      const reservation = await h.at(0).admit(refundable, kept);
      // The engine passes only the budgets whose limit allows refunds: the first here.
      await h.store.refund({ keys: reservation.keys.slice(0, 1), token: reservation.token });
      await h.at(10).admit(refundable);
      await h.at(10).refuse([kept], 0, MINUTE - 10);
    });

    run("a refund takes back one admission only, even among admissions of the same instant", async (h) => {
      const b = h.budget("b", 3, MINUTE);
      const first = await h.at(0).admit(b);
      await h.at(0).admit(b);
      await h.at(0).admit(b);
      await h.store.refund(first);
      await h.at(1).admit(b);
      await h.at(2).refuse([b], 0, MINUTE - 2);
    });

    run("refunding an admission that has left the window changes nothing", async (h) => {
      const b = h.budget("b", 2, SECOND);
      const old = await h.at(0).admit(b);
      await h.at(SECOND).admit(b);
      await h.at(SECOND + 1).admit(b);
      await h.store.refund(old);
      await h.at(SECOND + 2).refuse([b], 0, SECOND - 2);
    });

    run("admits a call with no limits without touching any budget", async (h) => {
      const result = await h.consume();
      assert.equal(result.admitted, true);
      if (result.admitted) await h.store.refund(result.reservation);
    });

    run("never admits more than max among calls made at the same time", async (h) => {
      const shared = h.budget("shared", 25, MINUTE);
      const perCaller = [h.budget("x", 20, MINUTE), h.budget("y", 20, MINUTE)];
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => h.at(0).consume(shared, perCaller[i % 2] as LimitCheck)),
      );
      const admitted = results.filter((r) => r.admitted);
      assert.equal(admitted.length, 25);
      const refused = results.filter((r) => !r.admitted);
      assert.ok(refused.every((r) => !r.admitted && r.retryAfterMs === MINUTE && (r.blocked === 0 || r.blocked === 1)));
    });

    run("holds large budgets exactly", async (h) => {
      const b = h.budget("large", 1_000, MINUTE);
      for (let i = 0; i < 1_000; i++) await h.at(i).admit(b);
      await h.at(1_000).refuse([b], 0, MINUTE - 1_000);
      await h.at(MINUTE).admit(b);
      await h.at(MINUTE).refuse([b], 0, 1);
    });
  });
}
