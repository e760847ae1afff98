// The Redis rate-limit store against a real redis-server: the store conformance suite, the key layout,
// one script call per decision on Redis's clock, replicas racing for one budget, and identical decisions
// to the memory store for random call sequences.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { compilePolicy, type CompiledPolicy } from "../../policy/compile.ts";
import { decideToolCall, refundToolCall } from "../../policy/decide.ts";
import { loadPolicySpec } from "../../policy/load.ts";
import { SlidingWindowMemoryStore } from "../../policy/ratelimit/memory-store.ts";
import { RedisSlidingWindowStore, type RedisStoreOptions } from "../../sidecar/ratelimit/redis-store.ts";
import { parseRedisUrl } from "../../policy/ratelimit/redis-target.ts";
import { describeStoreConformance } from "../../policy/ratelimit/store-conformance.testing.ts";
import { caller } from "../../policy/testing.ts";
import {
  RateLimitStoreError,
  type ConsumeResult,
  type LimitCheck,
  type Reservation,
} from "../../policy/ratelimit/store.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";

let server: RedisServer;
const stores: RedisSlidingWindowStore[] = [];

before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await server.stop();
});

async function openStore(options: Partial<RedisStoreOptions> = {}): Promise<RedisSlidingWindowStore> {
  const store = new RedisSlidingWindowStore({
    target: parseRedisUrl(server.url),
    keyPrefix: `test-${randomBytes(4).toString("hex")}:`,
    timeoutMs: 2_000,
    ...options,
  });
  stores.push(store);
  await store.waitUntilAvailable(5_000);
  return store;
}

function policy(spec: unknown): CompiledPolicy {
  return compilePolicy(loadPolicySpec(spec, "agents/kestra"));
}

describeStoreConformance("RedisSlidingWindowStore on one redis-server", (clock) => openStore({ clock }));

describe("RedisSlidingWindowStore on one redis-server", () => {
  test("keeps each budget in a sorted set named prefix{grant}key that expires a second after its window", async () => {
    const store = await openStore({ keyPrefix: "mcp-warden:agents/kestra:" });
    const check: LimitCheck = { key: "resume|grant|alice", windowMs: 60_000, max: 5, partition: "alice" };
    const result = await store.consume([check]);
    assert.ok(result.admitted);
    const key = "mcp-warden:agents/kestra:{alice}resume|grant|alice";
    assert.deepEqual(result.reservation.keys, [key]);
    assert.equal(await server.cli("type", key), "zset");
    assert.equal(await server.cli("zcard", key), "1");
    const ttl = Number(await server.cli("pttl", key));
    assert.ok(ttl > 59_000 && ttl <= 61_000, `PTTL ${ttl}`);
    assert.equal((await server.cli("zscore", key, String(result.reservation.token))) !== "", true);
  });

  test("tags keys with the policy's prefix when the partition is empty (policies with a global limit)", async () => {
    const store = await openStore({ keyPrefix: "p:" });
    assert.equal(store.redisKey({ key: "all|global", partition: "" }), "p:{p:}all|global");
    assert.equal(store.redisKey({ key: "all|global" }), "p:{p:}all|global");
    assert.equal(store.redisKey({ key: "t|grant|a}b", partition: "a}b" }), "p:{ab}t|grant|a}b");
    assert.equal(store.redisKey({ key: "t|grant|}", partition: "}" }), "p:{p:}t|grant|}");
  });

  test("records admissions at the Redis server's TIME", async () => {
    const store = await openStore();
    const before = redisMicros(await server.cli("time"));
    const result = await store.consume([{ key: "clock", windowMs: 60_000, max: 1, partition: "x" }]);
    const afterTime = redisMicros(await server.cli("time"));
    assert.ok(result.admitted);
    const score = Number(
      await server.cli("zscore", result.reservation.keys[0] as string, String(result.reservation.token)),
    );
    assert.ok(score >= before && score <= afterTime, `${before} <= ${score} <= ${afterTime}`);
  });

  test("decides each call with one script command, by SHA once Redis knows the script, and reloads it after SCRIPT FLUSH", async () => {
    await server.cli("config", "resetstat");
    const store = await openStore();
    const checks: LimitCheck[] = [
      { key: "a", windowMs: 60_000, max: 100, partition: "p" },
      { key: "b", windowMs: 1_000, max: 100, partition: "p" },
    ];
    for (let i = 0; i < 20; i++) assert.ok((await store.consume(checks)).admitted);
    let stats = commandStats(await server.cli("info", "commandstats"));
    // ioredis sends the script in full once per connection, then by SHA.
    assert.equal(stats.evalsha, 19);
    assert.equal(stats.eval, 1);

    await server.cli("script", "flush");
    await server.cli("config", "resetstat");
    assert.ok((await store.consume(checks)).admitted);
    stats = commandStats(await server.cli("info", "commandstats"));
    assert.equal(stats.evalsha, 1, "EVALSHA answered NOSCRIPT");
    assert.equal(stats.eval, 1, "then the script was sent in full");
    assert.equal(await server.cli("zcard", store.redisKey(checks[0] as LimitCheck)), "21");
  });

  test("refuses checks of one call that name different partitions, and reports the failure", async () => {
    const failures: RateLimitStoreError[] = [];
    const store = await openStore({ events: { operationFailed: (e) => failures.push(e) } });
    await assert.rejects(
      store.consume([
        { key: "a", windowMs: 1_000, max: 1, partition: "alice" },
        { key: "b", windowMs: 1_000, max: 1, partition: "bob" },
      ]),
      (err: unknown) =>
        err instanceof RateLimitStoreError && err.operation === "consume" && /different partitions/.test(err.message),
    );
    assert.equal(failures.length, 1);
  });

  test("several replicas sharing one Redis admit exactly 25 per minute per grant, for two grants independently", async () => {
    const compiled = policy({
      default: "deny",
      rateLimit: { store: "redis", redis: { url: server.url } },
      tools: [{ name: "resume_execution", action: "allow", limits: [{ window: "minute", max: 25 }] }],
    });
    assert.equal(compiled.limitPartitioning, "grant");
    const prefix = `replicas-${randomBytes(4).toString("hex")}:`;
    const replicas = await Promise.all([1, 2, 3].map(() => openStore({ keyPrefix: prefix })));
    const calls = Array.from({ length: 300 }, (_, i) => ({
      replica: replicas[i % 3] as RedisSlidingWindowStore,
      grant: i % 2 === 0 ? "alice" : "bob",
    }));
    const admissions = await Promise.all(
      calls.map(({ replica, grant }) =>
        decideToolCall(compiled, { tool: "resume_execution", args: {}, caller: caller(grant) }, replica).then((a) => ({
          grant,
          a,
        })),
      ),
    );
    for (const grant of ["alice", "bob"]) {
      const mine = admissions.filter((x) => x.grant === grant);
      assert.equal(mine.filter((x) => x.a.decision === "allowed").length, 25, grant);
      const limited = mine.filter((x) => x.a.decision === "rate_limited");
      assert.equal(limited.length, 125);
      assert.ok(
        limited.every(
          (x) =>
            x.a.reason === "limit_exceeded" && (x.a.retryAfterSeconds ?? 0) > 50 && (x.a.retryAfterSeconds ?? 0) <= 60,
        ),
      );
      const key = `${prefix}{${grant}}resume_execution/limits/0|grant|${grant}`;
      assert.equal(await server.cli("zcard", key), "25");
    }
    // Refunds free exactly the budget they took.
    const allowed = admissions.filter((x) => x.grant === "alice" && x.a.decision === "allowed").slice(0, 3);
    await Promise.all(allowed.map((x) => refundToolCall(x.a, replicas[0] as RedisSlidingWindowStore)));
    const again = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        decideToolCall(
          compiled,
          { tool: "resume_execution", args: {}, caller: caller("alice") },
          replicas[i % 3] as RedisSlidingWindowStore,
        ),
      ),
    );
    assert.equal(again.filter((a) => a.decision === "allowed").length, 3);
  });

  test("replicas never exceed a global budget and the callers' own budgets checked in the same call", async () => {
    const compiled = policy({
      default: "allow",
      rateLimit: { store: "redis", redis: { url: server.url } },
      allTools: { limits: [{ counter: "everyone", window: "minute", max: 40, scope: "global" }] },
      tools: [{ name: "*", action: "allow", limits: [{ counter: "per-caller", window: "minute", max: 25 }] }],
    });
    assert.equal(compiled.limitPartitioning, "policy");
    const prefix = `global-${randomBytes(4).toString("hex")}:`;
    const replicas = await Promise.all([1, 2, 3].map(() => openStore({ keyPrefix: prefix })));
    const grants = ["alice", "bob", "carol"];
    const admissions = await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        const grant = grants[i % 3] as string;
        return decideToolCall(
          compiled,
          { tool: `tool_${i % 7}`, args: {}, caller: caller(grant) },
          replicas[i % 3] as RedisSlidingWindowStore,
        ).then((a) => ({ grant, a }));
      }),
    );
    const allowed = admissions.filter((x) => x.a.decision === "allowed");
    assert.equal(allowed.length, 40);
    assert.equal(await server.cli("zcard", `${prefix}{${prefix}}everyone|global`), "40");
    let perCallerTotal = 0;
    for (const grant of grants) {
      const count = allowed.filter((x) => x.grant === grant).length;
      assert.ok(count <= 25, `${grant}: ${count}`);
      assert.equal(await server.cli("zcard", `${prefix}{${prefix}}per-caller|grant|${grant}`), String(count));
      perCallerTotal += count;
    }
    assert.equal(perCallerTotal, 40);
  });

  test("makes the same decisions as the memory store for any sequence of calls, waits and refunds", async () => {
    let now = 0;
    const redisStore = await openStore({ clock: () => now });
    const budgets = [
      { name: "a", max: 3, windowMs: 1_000 },
      { name: "b", max: 2, windowMs: 700 },
      { name: "c", max: 5, windowMs: 2_500 },
    ];
    const seen = { admitted: 0, refused: 0, refunds: 0 };
    type Step = { kind: "wait"; ms: number } | { kind: "call"; budgets: number[] } | { kind: "refund"; pick: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 400 }) }) },
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant("call" as const),
          budgets: fc.shuffledSubarray([0, 1, 2], { minLength: 1 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("refund" as const), pick: fc.nat() }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        now = 1_800_000_000_000;
        const memory = new SlidingWindowMemoryStore({ now: () => now });
        const namespace = randomBytes(6).toString("hex");
        const held: { memory: Reservation; redis: Reservation; refundable: number[] }[] = [];
        for (const s of steps) {
          if (s.kind === "wait") {
            now += s.ms;
          } else if (s.kind === "call") {
            const checks = s.budgets.map((i) => {
              const b = budgets[i] as (typeof budgets)[number];
              return { key: `${namespace}|${b.name}`, max: b.max, windowMs: b.windowMs, partition: "p" };
            });
            const expected = memory.consume(checks);
            const actual = await redisStore.consume(checks);
            assert.deepEqual(withoutReservation(actual), withoutReservation(expected));
            seen[expected.admitted ? "admitted" : "refused"]++;
            if (expected.admitted && actual.admitted) {
              // Refund a subset of the budgets, as the engine does for limits that allow refunds.
              const refundable = s.budgets.map((_, i) => i).filter((i) => i % 2 === 0);
              held.push({ memory: expected.reservation, redis: actual.reservation, refundable });
            }
          } else if (held.length > 0) {
            const [r] = held.splice(s.pick % held.length, 1);
            if (!r) continue;
            const subset = (res: Reservation): Reservation => ({
              keys: r.refundable.map((i) => res.keys[i] as string),
              token: res.token,
            });
            memory.refund(subset(r.memory));
            await redisStore.refund(subset(r.redis));
            seen.refunds++;
          }
        }
      }),
      { numRuns: 100 },
    );
    // The sequences exercised every path, not only admissions.
    assert.ok(seen.admitted > 100 && seen.refused > 30 && seen.refunds > 20, JSON.stringify(seen));
  });
});

function withoutReservation(result: ConsumeResult) {
  return result.admitted ? { admitted: true } : result;
}

function redisMicros(timeReply: string): number {
  const [seconds, micros] = timeReply.split("\n").map(Number);
  return (seconds as number) * 1_000_000 + (micros as number);
}

function commandStats(info: string): { eval: number; evalsha: number } {
  const calls = (name: string) => Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, "m").exec(info)?.[1] ?? 0);
  return { eval: calls("eval"), evalsha: calls("evalsha") };
}
