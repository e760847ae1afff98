import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideLease, microTime, observe, releasedRecord, type LeaseRecord } from "./lease-decision.ts";

const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const lease = (holder: string, extra: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: microTime(t0 - 60_000),
  renewTime: microTime(t0 - 1_000),
  leaseTransitions: 3,
  ...extra,
});

describe("decideLease", () => {
  it("creates a missing lease with this replica as holder", () => {
    const d = decideLease({ identity: "a", now: t0, leaseDurationMs: 15_000, current: undefined, previous: undefined });
    assert.equal(d.action, "create");
    assert.deepEqual(d.action === "create" && d.record, {
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      acquireTime: "2026-01-01T12:00:00.000000Z",
      renewTime: "2026-01-01T12:00:00.000000Z",
      leaseTransitions: 0,
    });
  });

  it("waits while another holder's lease has not expired by this replica's own observation", () => {
    const current = lease("b");
    const d = decideLease({ identity: "a", now: t0, leaseDurationMs: 15_000, current, previous: undefined });
    assert.deepEqual(d, { action: "wait", holder: "b", expiresAt: t0 + 15_000 });
  });

  it("judges expiry by when the record last changed locally, not by the holder's renewTime", () => {
    // The holder's clock runs an hour behind: its renewTime looks ancient, but it keeps renewing.
    const skewed = lease("b", { renewTime: microTime(t0 - 3_600_000) });
    const first = observe(undefined, skewed, t0);
    const d = decideLease({
      identity: "a",
      now: t0 + 5_000,
      leaseDurationMs: 15_000,
      current: skewed,
      previous: first,
    });
    assert.equal(d.action, "wait");
  });

  it("takes over an unchanged lease once its duration has passed, counting a transition", () => {
    const current = lease("b");
    const seen = observe(undefined, current, t0);
    const d = decideLease({ identity: "a", now: t0 + 15_001, leaseDurationMs: 15_000, current, previous: seen });
    assert.equal(d.action, "update");
    if (d.action !== "update") return;
    assert.equal(d.acquiring, true);
    assert.equal(d.record.holderIdentity, "a");
    assert.equal(d.record.leaseTransitions, 4);
    assert.equal(d.record.acquireTime, microTime(t0 + 15_001));
  });

  it("restarts the expiry clock whenever the holder renews", () => {
    const before = lease("b");
    const seen = observe(undefined, before, t0);
    const renewed = lease("b", { renewTime: microTime(t0 + 10_000) });
    const d = decideLease({
      identity: "a",
      now: t0 + 16_000,
      leaseDurationMs: 15_000,
      current: renewed,
      previous: seen,
    });
    assert.deepEqual(d, { action: "wait", holder: "b", expiresAt: t0 + 16_000 + 15_000 });
  });

  it("renews its own lease keeping acquireTime and transitions", () => {
    const current = lease("a");
    const d = decideLease({ identity: "a", now: t0, leaseDurationMs: 15_000, current, previous: undefined });
    assert.equal(d.action, "update");
    if (d.action !== "update") return;
    assert.equal(d.acquiring, false);
    assert.equal(d.record.acquireTime, current.acquireTime);
    assert.equal(d.record.leaseTransitions, 3);
    assert.equal(d.record.renewTime, microTime(t0));
  });

  it("takes a released lease (empty holder) at once", () => {
    const released = releasedRecord(lease("b"), t0);
    assert.equal(released.holderIdentity, "");
    assert.equal(released.leaseDurationSeconds, 1);
    const d = decideLease({
      identity: "a",
      now: t0 + 1,
      leaseDurationMs: 15_000,
      current: released,
      previous: observe(undefined, released, t0),
    });
    assert.equal(d.action, "update");
  });
});

describe("microTime", () => {
  it("formats the API's MicroTime (RFC 3339 with microseconds)", () => {
    assert.equal(microTime(Date.UTC(2026, 4, 6, 7, 8, 9, 123)), "2026-05-06T07:08:09.123000Z");
  });
});
