import assert from "node:assert/strict";
import { test } from "node:test";
import { SlidingWindowMemoryStore } from "./memory-store.ts";
import { describeStoreConformance } from "./store-conformance.testing.ts";

function setup(start = 0) {
  const clock = { now: start };
  const store = new SlidingWindowMemoryStore({ now: () => clock.now, sweepIntervalMs: 1_000 });
  return { clock, store };
}
const limit = (key: string, max: number, windowMs = 1_000) => ({ key, windowMs, max });

test("admits max calls per window, then refuses until the oldest leaves the window", () => {
  const { clock, store } = setup();
  for (let i = 0; i < 3; i++) {
    assert.equal(store.consume([limit("k", 3)]).admitted, true);
    clock.now += 100;
  }
  const refused = store.consume([limit("k", 3)]);
  assert.deepEqual(refused, { admitted: false, blocked: 0, retryAfterMs: 700 });
  clock.now = 999;
  assert.equal(store.consume([limit("k", 3)]).admitted, false, "the call at t=0 still counts at t=999");
  clock.now = 1_000;
  assert.equal(store.consume([limit("k", 3)]).admitted, true, "at t=1000 it has left the window");
});

test("all or nothing across several limits; the blocked index and the longest wait are reported", () => {
  const { clock, store } = setup();
  assert.equal(store.consume([limit("a", 5), limit("b", 1, 10_000)]).admitted, true);
  clock.now = 10;
  const refused = store.consume([limit("a", 5), limit("b", 1, 10_000), limit("c", 5)]);
  assert.deepEqual(refused, { admitted: false, blocked: 1, retryAfterMs: 9_990 });
  for (let i = 0; i < 4; i++)
    assert.equal(store.consume([limit("a", 5)]).admitted, true, "the refused call took nothing from a");
  assert.equal(store.consume([limit("c", 1)]).admitted, true, "nor from c");
});

test("refund removes exactly one admission; unknown or repeated refunds are ignored", () => {
  const { store } = setup();
  const first = store.consume([limit("k", 2)]);
  const second = store.consume([limit("k", 2)]);
  assert.ok(first.admitted && second.admitted);
  store.refund(first.reservation);
  store.refund({ keys: ["unknown"], token: 5 });
  assert.equal(store.consume([limit("k", 2)]).admitted, true);
  assert.equal(store.consume([limit("k", 2)]).admitted, false);
});

test("idle budgets are swept so memory follows active callers", () => {
  const { clock, store } = setup();
  for (let i = 0; i < 1_000; i++) store.consume([limit(`caller-${i}`, 10)]);
  assert.equal(store.size, 1_000);
  clock.now = 999;
  store.consume([limit("active", 10)]);
  assert.equal(store.size, 1_001, "nothing expired yet");
  clock.now = 2_500;
  store.consume([limit("active", 10)]);
  assert.equal(store.size, 1, "only the active caller's budget remains");
});

test("a clock that steps backwards never lets extra calls in", () => {
  const { clock, store } = setup(10_000);
  assert.equal(store.consume([limit("k", 1)]).admitted, true);
  clock.now = 5_000; // NTP step back
  assert.equal(store.consume([limit("k", 1)]).admitted, false);
  clock.now = 10_999;
  assert.equal(store.consume([limit("k", 1)]).admitted, false);
  clock.now = 11_000;
  assert.equal(store.consume([limit("k", 1)]).admitted, true);
});

test("a lowered max applies at once to the admissions already counted", () => {
  const { store } = setup();
  for (let i = 0; i < 5; i++) store.consume([limit("k", 5)]);
  const refused = store.consume([limit("k", 2)]);
  assert.equal(refused.admitted, false);
});

describeStoreConformance("SlidingWindowMemoryStore", (clock) => new SlidingWindowMemoryStore({ now: clock }));
