import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock, flushMicrotasks } from "./manual-clock.testing.ts";
import { processQueue, WorkQueue } from "./work-queue.ts";

describe("WorkQueue", () => {
  it("holds a key once however often it is added", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    q.add("a");
    assert.equal(q.length, 2);
    assert.equal(await q.get(), "a");
    assert.equal(await q.get(), "b");
  });

  it("never hands one key to two workers; a key added while in flight runs again after done", async () => {
    const q = new WorkQueue();
    q.add("a");
    const first = await q.get();
    q.add("a");
    assert.equal(q.length, 0, "not queued while processing");
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await flushMicrotasks();
    assert.equal(second, undefined);
    q.done(first as string);
    await flushMicrotasks();
    assert.equal(second, "a");
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add("x");
    assert.equal(await got, "x");
  });

  it("delays keys on the clock and keeps the earliest of two delays", async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    q.addAfter("k", 1000);
    q.addAfter("k", 5000);
    await clock.advance(999);
    assert.equal(q.length, 0);
    await clock.advance(1);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), "k");
    q.done("k");
    await clock.advance(10_000);
    assert.equal(q.length, 0, "the later delay was dropped");
  });

  it("backs failed keys off exponentially up to a cap, and forget resets it", async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, retryInitialMs: 100, retryMaxMs: 1000 });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const start = clock.now();
      q.addRateLimited("k");
      while (q.length === 0) await clock.advance(10);
      delays.push(clock.now() - start);
      q.done((await q.get()) as string);
    }
    assert.ok(delays[0]! >= 100 && delays[0]! <= 120, `first retry after ~100ms, got ${delays[0]}`);
    assert.ok(delays[1]! >= 200 && delays[1]! <= 230);
    assert.ok(delays[5]! >= 1000 && delays[5]! <= 1010, `capped at 1s, got ${delays[5]}`);
    assert.equal(q.failures("k"), 6);
    q.forget("k");
    assert.equal(q.failures("k"), 0);
  });

  it("releases waiting workers on shutdown and ignores later adds", async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
    q.add("late");
    assert.equal(await q.get(), undefined);
  });
});

describe("processQueue", () => {
  it("reconciles keys, retries failures with backoff and stops on shutdown", async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock, retryInitialMs: 100 });
    const seen: string[] = [];
    let failOnce = true;
    const errors: string[] = [];
    const running = processQueue(
      q,
      2,
      (key) => {
        seen.push(key);
        if (key === "bad" && failOnce) {
          failOnce = false;
          return Promise.reject(new Error("boom"));
        }
        return Promise.resolve();
      },
      (key, err) => errors.push(`${key}: ${(err as Error).message}`),
    );
    q.add("good");
    q.add("bad");
    await flushMicrotasks();
    assert.deepEqual(seen.sort(), ["bad", "good"]);
    assert.deepEqual(errors, ["bad: boom"]);
    await clock.advance(150);
    assert.deepEqual(seen.filter((k) => k === "bad").length, 2, "retried after the backoff");
    assert.equal(q.failures("bad"), 0, "success forgets the failures");
    q.shutDown();
    await running;
  });
});
