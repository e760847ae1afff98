// Property tests for the guarantees the engine promises whatever the input.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { decideToolCall, evaluateToolCall } from "./decide.ts";
import { SlidingWindowMemoryStore } from "./ratelimit/memory-store.ts";
import type { LimitCheck, RateLimitStore } from "./ratelimit/store.ts";
import { call, caller, mcpPolicy } from "./testing.ts";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);

test("no interval of one window length ever admits more than max, and nothing is refused while there is room", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 2_000 }),
      fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 200 }),
      (max, windowMs, gaps) => {
        let now = 0;
        const store = new SlidingWindowMemoryStore({ now: () => now });
        const admitted: number[] = [];
        for (const gap of gaps) {
          now += gap;
          const inWindow = admitted.filter((t) => t > now - windowMs).length;
          const result = store.consume([{ key: "k", windowMs, max }]);
          assert.equal(
            result.admitted,
            inWindow < max,
            `at t=${now}: ${inWindow} admitted within the window, max ${max}`,
          );
          if (result.admitted) admitted.push(now);
          else
            assert.equal(
              result.retryAfterMs,
              admitted.filter((t) => t > now - windowMs)[inWindow - max]! + windowMs - now,
            );
        }
        for (const start of admitted) {
          assert.ok(admitted.filter((t) => t >= start && t < start + windowMs).length <= max);
        }
      },
    ),
    { numRuns: RUNS },
  );
});

test("several limits per call: admitted exactly when every one has room, consumed only then (reference model)", () => {
  const keys = ["a", "b", "c"] as const;
  fc.assert(
    fc.property(
      fc.record({
        a: fc.integer({ min: 1, max: 4 }),
        b: fc.integer({ min: 1, max: 4 }),
        c: fc.integer({ min: 1, max: 4 }),
      }),
      fc.array(
        fc.record({
          gap: fc.integer({ min: 0, max: 300 }),
          use: fc.subarray([...keys], { minLength: 1 }),
          refund: fc.boolean(),
        }),
        { maxLength: 150 },
      ),
      (maxes, calls) => {
        let now = 0;
        const windowMs = 1_000;
        const store = new SlidingWindowMemoryStore({ now: () => now });
        const model = new Map<string, number[]>(keys.map((k) => [k, []]));
        for (const c of calls) {
          now += c.gap;
          const checks: LimitCheck[] = c.use.map((k) => ({ key: k, windowMs, max: maxes[k] }));
          const room = c.use.every((k) => model.get(k)!.filter((t) => t > now - windowMs).length < maxes[k]);
          const result = store.consume(checks);
          assert.equal(result.admitted, room);
          if (result.admitted) {
            if (c.refund) store.refund(result.reservation);
            else for (const k of c.use) model.get(k)!.push(now);
          }
        }
      },
    ),
    { numRuns: RUNS },
  );
});

test("concurrent decisions through an asynchronous store never admit more than max", async () => {
  const policy = mcpPolicy(
    "tools: [{name: resume_execution, limits: [{counter: r, window: minute, max: 10, scope: grant}]}]",
  );
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 3 }),
      async (s, callsPerGrant, grants) => {
        const inner = new SlidingWindowMemoryStore({ now: () => 0 });
        // Each store operation happens at a point the scheduler picks, interleaving the calls.
        const store: RateLimitStore = {
          consume: (checks) => s.schedule(Promise.resolve()).then(() => inner.consume(checks)),
          refund: (r) => inner.refund(r),
          close: () => inner.close(),
        };
        const pending = [];
        for (let g = 0; g < grants; g++) {
          for (let i = 0; i < callsPerGrant; i++)
            pending.push(decideToolCall(policy, call("resume_execution", {}, caller(`grant-${g}`)), store));
        }
        const all = Promise.all(pending);
        await s.waitAll();
        const decisions = await all;
        for (let g = 0; g < grants; g++) {
          const mine = decisions.slice(g * callsPerGrant, (g + 1) * callsPerGrant);
          assert.equal(mine.filter((d) => d.decision === "allowed").length, Math.min(10, callsPerGrant));
          assert.ok(mine.every((d) => d.decision === "allowed" || d.decision === "rate_limited"));
        }
      },
    ),
    { numRuns: Math.min(RUNS, 200) },
  );
});

test("a denied or hidden tool is never allowed, whatever the arguments or the caller", () => {
  const policy = mcpPolicy(`
default: allow
hide: [force_run_execution, 'secret_*']
tools:
  - {name: delete_flow_logs, action: deny}
  - {name: 'manage_*', action: deny}
  - {name: '*', limits: [{window: minute, max: 1000}]}
  - {name: 'delete_*', action: allow}
  - {name: 'secret_*', action: allow}
`);
  const forbidden = fc.constantFrom(
    "force_run_execution",
    "secret_kv",
    "delete_flow_logs",
    "manage_kv_store",
    "manage_flow",
  );
  const who = fc.record({
    grant: fc.string(),
    sub: fc.string(),
    groups: fc.array(fc.string()),
    claims: fc.dictionary(fc.string(), fc.jsonValue()),
  });
  fc.assert(
    fc.property(forbidden, fc.dictionary(fc.string(), fc.jsonValue()), who, (tool, args, caller) => {
      const d = evaluateToolCall(policy, call(tool, args, caller));
      assert.equal(d.decision, "denied");
      assert.ok(d.reason === "hidden" || d.reason === "tool_denied");
    }),
    { numRuns: RUNS * 3 },
  );
});
