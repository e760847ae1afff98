import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SessionTable } from "./sessions.ts";

function table(max = 3, idle = 1000, perGrant = max) {
  const clock = { now: 0 };
  const sizes: number[] = [];
  const t = new SessionTable({
    maxSessions: max,
    maxSessionsPerGrant: perGrant,
    idleTimeoutMs: idle,
    now: () => clock.now,
    onSize: (n) => sizes.push(n),
  });
  return { t, clock, sizes };
}

describe("SessionTable", () => {
  it("lets only the grant that created a session use it", () => {
    const { t } = table();
    t.bind("s1", "alice");
    assert.equal(t.check("s1", "alice"), "ok");
    assert.equal(t.check("s1", "bob"), "foreign");
    assert.equal(t.check("nope", "alice"), "unknown");
    assert.equal(t.bind("s1", "bob"), false, "a bound session keeps its owner");
    assert.equal(t.check("s1", "alice"), "ok");
  });

  it("forgets the least recently used session beyond the bound", () => {
    const { t, clock } = table(2);
    t.bind("a", "g");
    clock.now = 1;
    t.bind("b", "g");
    clock.now = 2;
    assert.equal(t.check("a", "g"), "ok"); // a is now more recent than b
    t.bind("c", "g");
    assert.equal(t.check("b", "g"), "unknown");
    assert.equal(t.check("a", "g"), "ok");
    assert.equal(t.size, 2);
  });

  it("expires idle sessions, and use keeps a session alive", () => {
    const { t, clock, sizes } = table(10, 1000);
    t.bind("busy", "g");
    t.bind("idle", "g");
    for (clock.now = 500; clock.now <= 3000; clock.now += 500) assert.equal(t.check("busy", "g"), "ok");
    assert.equal(t.check("idle", "g"), "unknown");
    assert.equal(t.size, 1);
    assert.deepEqual(sizes.slice(0, 2), [1, 2]);
    t.forget("busy");
    assert.equal(t.size, 0);
    assert.equal(sizes.at(-1), 0);
  });

  it("keeps each grant within its quota by forgetting that grant's own least recently used session", () => {
    const { t } = table(100, 1000, 2);
    t.bind("a1", "apikey:a");
    t.bind("a2", "apikey:a");
    for (let i = 0; i < 10; i++) t.bind(`b${i}`, "apikey:b");
    assert.equal(t.countOf("apikey:b"), 2);
    assert.equal(t.check("b9", "apikey:b"), "ok");
    assert.equal(t.check("b8", "apikey:b"), "ok");
    assert.equal(t.check("b7", "apikey:b"), "unknown");
    assert.equal(t.check("a1", "apikey:a"), "ok");
    assert.equal(t.check("a2", "apikey:a"), "ok");
  });

  it("when full, evicts within the binding grant first, even if another grant's session is older", () => {
    const { t, clock } = table(4, 10_000, 10);
    t.bind("a1", "apikey:a");
    t.bind("a2", "apikey:a");
    clock.now = 1;
    t.bind("b1", "apikey:b");
    t.bind("b2", "apikey:b");
    for (let i = 3; i < 20; i++) t.bind(`b${i}`, "apikey:b");
    assert.equal(
      t.check("a1", "apikey:a"),
      "ok",
      "the least recently used session overall is another grant's: it stays",
    );
    assert.equal(t.check("a2", "apikey:a"), "ok");
    assert.equal(t.countOf("apikey:b"), 2);
    assert.equal(t.size, 4);
  });

  it("gives a grant's first session room by taking from the grant holding the most", () => {
    const { t } = table(4, 10_000, 10);
    t.bind("a1", "apikey:a");
    t.bind("b1", "apikey:b");
    t.bind("b2", "apikey:b");
    t.bind("b3", "apikey:b");
    t.bind("c1", "apikey:c");
    assert.equal(t.check("b1", "apikey:b"), "unknown", "the largest holder's oldest session made room");
    assert.equal(t.check("a1", "apikey:a"), "ok");
    assert.equal(t.check("c1", "apikey:c"), "ok");
    assert.equal(t.size, 4);
  });

  it("keeps the per-grant index in step when sessions expire or are forgotten", () => {
    const { t, clock } = table(10, 1000, 3);
    t.bind("s1", "g");
    t.bind("s2", "g");
    t.forget("s1");
    assert.equal(t.countOf("g"), 1);
    clock.now = 5000;
    assert.equal(t.check("s2", "g"), "unknown");
    assert.equal(t.countOf("g"), 0);
  });
});
