import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SessionTable } from "./sessions.ts";

function table(max = 3, idle = 1000) {
  const clock = { now: 0 };
  const sizes: number[] = [];
  const t = new SessionTable({ maxSessions: max, idleTimeoutMs: idle, now: () => clock.now, onSize: (n) => sizes.push(n) });
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
});
