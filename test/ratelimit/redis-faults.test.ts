// The Redis store when Redis fails under load, against a real redis-server that the test hangs
// (SIGSTOP), crashes (SIGKILL) and restarts: every call settles within the timeout, nothing hangs,
// decisions fail closed (or open when chosen), the store recovers within 2 s of Redis returning, and
// no budget ever holds more than its max.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from "node:timers/promises";
import { decideToolCall } from "../../policy/decide.ts";
import { RedisSlidingWindowStore, type RedisStoreOptions } from "../../sidecar/ratelimit/redis-store.ts";
import { parseRedisUrl } from "../../policy/ratelimit/redis-target.ts";
import { RateLimitStoreError, type LimitCheck } from "../../policy/ratelimit/store.ts";
import { call, mcpPolicy } from "../../policy/testing.ts";
import { freePort } from "../support/ports.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";

const TIMEOUT_MS = 200;
/** Settling must take about the timeout; the margin absorbs a busy, shared machine. */
const SETTLE_BOUND_MS = TIMEOUT_MS + 800;
const RECOVERY_BOUND_MS = 2_000;
/** A consume still pending this long is a hang. */
const HANG_MS = 5_000;

let server: RedisServer;
const stores: RedisSlidingWindowStore[] = [];

before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await server.stop();
});

interface Recorder {
  failures: RateLimitStoreError[];
  availability: boolean[];
}

function openStore(url: string, recorder: Recorder, options: Partial<RedisStoreOptions> = {}): RedisSlidingWindowStore {
  const store = new RedisSlidingWindowStore({
    target: parseRedisUrl(url),
    keyPrefix: `faults-${randomBytes(4).toString("hex")}:`,
    timeoutMs: TIMEOUT_MS,
    events: {
      operationFailed: (e) => recorder.failures.push(e),
      availabilityChanged: (available) => recorder.availability.push(available),
    },
    ...options,
  });
  stores.push(store);
  return store;
}

/**
 * A second store on the same keys with a generous timeout, for the checks after a fault: they are
 * about the counters, and a loaded machine may take longer than the store's timeout for a burst.
 */
async function patientTwin(url: string, keyPrefix: string): Promise<RedisSlidingWindowStore> {
  const twin = openStore(url, { failures: [], availability: [] }, { keyPrefix, timeoutMs: 5_000 });
  await twin.waitUntilAvailable(5_000);
  return twin;
}

interface Outcome {
  key: string;
  started: number;
  settled: number;
  admitted: boolean;
  error?: unknown;
}

/** Keeps `workers` callers consuming until `done()`; every call is raced against a hang detector. */
async function load(
  store: RedisSlidingWindowStore,
  calls: LimitCheck[][],
  done: () => boolean,
  workers = 8,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      const checks = calls[worker % calls.length] as LimitCheck[];
      while (!done()) {
        const started = performance.now();
        const hang = sleep(HANG_MS, "hang" as const, { ref: false });
        const result = await Promise.race([
          store.consume(checks).then(
            (r) => ({ r }),
            (error: unknown) => ({ error }),
          ),
          hang,
        ]);
        if (result === "hang")
          throw new Error(`a consume started at ${started.toFixed(0)} ms did not settle within ${HANG_MS} ms`);
        outcomes.push({
          key: (checks[0] as LimitCheck).key,
          started,
          settled: performance.now(),
          admitted: "r" in result && result.r.admitted,
          ...("error" in result ? { error: result.error } : {}),
        });
        // Rejections while disconnected are immediate: let timers and sockets run between calls.
        await yieldToEventLoop();
      }
    }),
  );
  return outcomes;
}

/** Probes until a consume succeeds: milliseconds since `since`, and the failed probes. */
async function firstSuccessAfter(
  store: RedisSlidingWindowStore,
  since: number,
  checks: LimitCheck[],
): Promise<{ ms: number; failed: number }> {
  let failed = 0;
  for (;;) {
    try {
      await store.consume(checks);
      return { ms: performance.now() - since, failed };
    } catch {
      failed++;
      if (performance.now() - since > 10_000) throw new Error("the store did not recover within 10 s");
      await sleep(10);
    }
  }
}

function assertSettledInTime(outcomes: Outcome[], from: number, to: number): number {
  const during = outcomes.filter((o) => o.started >= from && o.started < to);
  assert.ok(during.length > 0, "calls were made during the outage");
  const slowest = Math.max(...during.map((o) => o.settled - o.started));
  assert.ok(slowest <= SETTLE_BOUND_MS, `slowest call during the outage took ${slowest.toFixed(0)} ms`);
  for (const o of during.filter((x) => x.error !== undefined)) {
    assert.ok(o.error instanceof RateLimitStoreError, String(o.error));
    assert.match(
      o.error.message,
      /^(Redis did not answer within 200 ms|the connection to Redis was lost|no connection to Redis)$/,
    );
  }
  return slowest;
}

async function countOf(key: string): Promise<number> {
  return Number(await server.cli("zcard", key));
}

describe("Redis store under faults", () => {
  test("a hung Redis (SIGSTOP) fails every call within the timeout; the store recovers when it resumes", async (t) => {
    const recorder: Recorder = { failures: [], availability: [] };
    const keyPrefix = `faults-${randomBytes(4).toString("hex")}:`;
    const store = openStore(server.url, recorder, { keyPrefix });
    await store.waitUntilAvailable(5_000);
    const limited: LimitCheck = { key: "limited", windowMs: 60_000, max: 50, partition: "p" };
    const open: LimitCheck = { key: "open", windowMs: 60_000, max: 1_000_000, partition: "p" };

    let stop = false;
    const running = load(store, [[open], [limited]], () => stop).catch((err: unknown) => {
      stop = true;
      throw err;
    });
    await sleep(300);
    const pausedAt = performance.now();
    server.pause();
    await sleep(1_500);
    const resumedAt = performance.now();
    server.resume();
    const recovery = await firstSuccessAfter(store, resumedAt, [{ ...open, key: "probe" }]);
    await sleep(200);
    stop = true;
    const outcomes = await running;

    const slowest = assertSettledInTime(outcomes, pausedAt, resumedAt);
    assert.ok(recovery.ms <= RECOVERY_BOUND_MS, `recovered ${recovery.ms.toFixed(0)} ms after Redis resumed`);
    const failed = outcomes.filter((o) => o.error !== undefined).length;
    assert.ok(failed > 0);
    assert.equal(
      recorder.failures.filter((e) => e.operation === "consume").length,
      failed + recovery.failed,
      "every failure reached the hook",
    );
    assert.deepEqual(recorder.availability.slice(0, 3), [true, false, true]);

    // Counters: a call that timed out or lost its connection was on the wire and may have been applied
    // when Redis woke up, so Redis counts every admission callers saw plus at most those calls; a call
    // refused for want of a connection never counts. And no budget holds more than its max.
    const mine = outcomes.filter((o) => o.key === "open");
    const admitted = mine.filter((o) => o.admitted).length;
    const inDoubt = mine.filter(
      (o) => o.error instanceof RateLimitStoreError && o.error.message !== "no connection to Redis",
    ).length;
    const counted = await countOf(store.redisKey(open));
    assert.ok(
      counted >= admitted && counted <= admitted + inDoubt,
      `admitted ${admitted}, in doubt ${inDoubt}, counted ${counted}`,
    );
    const limitedAdmitted = outcomes.filter((o) => o.key === "limited" && o.admitted).length;
    assert.equal(limitedAdmitted, 50);
    assert.equal(await countOf(store.redisKey(limited)), 50);
    const twin = await patientTwin(server.url, keyPrefix);
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => twin.consume([{ key: "after", windowMs: 60_000, max: 10, partition: "p" }])),
    );
    assert.equal(burst.filter((r) => r.admitted).length, 10);
    t.diagnostic(
      `${outcomes.length} calls, ${failed} refused; slowest during the outage ${slowest.toFixed(0)} ms; recovered ${recovery.ms.toFixed(0)} ms ` +
        `after SIGCONT; open budget: ${admitted} admitted, ${inDoubt} in doubt (sent, unanswered), ${counted} counted`,
    );
  });

  test("a crashed Redis (SIGKILL) fails every call at once; the store recovers within 2 s of its restart", async (t) => {
    const recorder: Recorder = { failures: [], availability: [] };
    const keyPrefix = `faults-${randomBytes(4).toString("hex")}:`;
    const store = openStore(server.url, recorder, { keyPrefix });
    await store.waitUntilAvailable(5_000);
    const limited: LimitCheck = { key: "limited", windowMs: 60_000, max: 20, partition: "p" };

    let stop = false;
    const running = load(store, [[limited]], () => stop).catch((err: unknown) => {
      stop = true;
      throw err;
    });
    await sleep(300);
    const killedAt = performance.now();
    await server.kill();
    await sleep(1_000);
    await server.restart();
    const restartedAt = performance.now();
    const recovery = await firstSuccessAfter(store, restartedAt, [{ ...limited, key: "probe" }]);
    stop = true;
    const outcomes = await running;

    const slowest = assertSettledInTime(outcomes, killedAt, restartedAt);
    t.diagnostic(
      `${outcomes.length} calls; slowest during the outage ${slowest.toFixed(0)} ms; recovered ${recovery.ms.toFixed(0)} ms after the restart`,
    );
    assert.ok(recovery.ms <= RECOVERY_BOUND_MS, `recovered ${recovery.ms.toFixed(0)} ms after Redis restarted`);
    assert.ok(recorder.availability.includes(false));
    assert.equal(recorder.availability.at(-1), true);
    // Without persistence the restarted Redis starts empty: budgets begin again, exactly max per window.
    const admittedBefore = outcomes.filter((o) => o.admitted && o.started < killedAt).length;
    assert.equal(admittedBefore, 20);
    const twin = await patientTwin(server.url, keyPrefix);
    const burst = await Promise.all(Array.from({ length: 60 }, () => twin.consume([limited])));
    const admittedAfter =
      outcomes.filter((o) => o.admitted && o.started >= killedAt).length + burst.filter((r) => r.admitted).length;
    assert.equal(admittedAfter, 20);
    assert.equal(await countOf(store.redisKey(limited)), 20);
  });

  test("a store started while Redis is down refuses at once, and connects when Redis comes up", async () => {
    const port = await freePort();
    const recorder: Recorder = { failures: [], availability: [] };
    const store = openStore(`redis://127.0.0.1:${port}`, recorder);
    const started = performance.now();
    await assert.rejects(store.consume([{ key: "k", windowMs: 1_000, max: 1, partition: "p" }]), {
      message: "no connection to Redis",
    });
    assert.ok(performance.now() - started <= SETTLE_BOUND_MS);
    await assert.rejects(
      store.refund({ keys: ["k"], token: "x" }),
      (err: unknown) => err instanceof RateLimitStoreError && err.operation === "refund",
    );
    assert.equal(store.available, false);

    const late = await startRedisServer({ port });
    try {
      const upAt = performance.now();
      await store.waitUntilAvailable(RECOVERY_BOUND_MS);
      assert.ok(performance.now() - upAt <= RECOVERY_BOUND_MS);
      assert.equal((await store.consume([{ key: "k", windowMs: 1_000, max: 1, partition: "p" }])).admitted, true);
      assert.deepEqual(recorder.availability, [true]);
    } finally {
      await store.close();
      await late.stop();
    }
  });

  test("the engine fails closed when the store is unreachable, and open when the policy says so", async () => {
    const port = await freePort();
    const store = openStore(`redis://127.0.0.1:${port}`, { failures: [], availability: [] });
    const limits = `
rateLimit: {store: redis, redis: {url: "redis://127.0.0.1:${port}"}, failMode: FAILMODE}
tools:
  - name: resume_execution
    limits: [{window: minute, max: 10}]`;
    const closed = await decideToolCall(
      mcpPolicy(limits.replace("FAILMODE", "closed")),
      call("resume_execution"),
      store,
    );
    assert.equal(closed.decision, "rate_limited");
    assert.equal(closed.reason, "store_unavailable");
    assert.match(closed.message, /rate-limit store is unavailable.*\(no connection to Redis\)/);
    assert.doesNotMatch(closed.message, new RegExp(String(port)), "the agent is not told where Redis is");
    const opened = await decideToolCall(mcpPolicy(limits.replace("FAILMODE", "open")), call("resume_execution"), store);
    assert.equal(opened.decision, "allowed");
    assert.equal(opened.reason, "store_unavailable");
  });
});
