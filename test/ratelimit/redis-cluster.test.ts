// The Redis store on a real 3-master Redis Cluster: the conformance suite, replicas racing for the
// same budgets, callers spread over the masters by hash tag, and policies with a global limit kept
// in one slot so that their calls stay atomic.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { decideToolCall } from "../../policy/decide.ts";
import { RedisSlidingWindowStore, type RedisStoreOptions } from "../../sidecar/ratelimit/redis-store.ts";
import { parseRedisUrl } from "../../policy/ratelimit/redis-target.ts";
import { describeStoreConformance } from "../../policy/ratelimit/store-conformance.testing.ts";
import { call, caller, mcpPolicy } from "../../policy/testing.ts";
import { startRedisCluster, type RedisCluster } from "../support/redis.ts";

let cluster: RedisCluster;
const stores: RedisSlidingWindowStore[] = [];

before(async () => {
  cluster = await startRedisCluster(3);
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await cluster.stop();
});

async function openStore(options: Partial<RedisStoreOptions> = {}): Promise<RedisSlidingWindowStore> {
  const store = new RedisSlidingWindowStore({
    target: parseRedisUrl(cluster.url),
    keyPrefix: `cluster-${randomBytes(4).toString("hex")}:`,
    timeoutMs: 2_000,
    ...options,
  });
  stores.push(store);
  await store.waitUntilAvailable(10_000);
  return store;
}

/** How many keys starting with `prefix` each master holds. */
async function keysPerMaster(prefix: string): Promise<number[]> {
  return Promise.all(
    cluster.nodes.map(async (node) => {
      const keys = await node.cli("--scan", "--pattern", `${prefix}*`);
      return keys === "" ? 0 : keys.split("\n").length;
    }),
  );
}

describeStoreConformance("RedisSlidingWindowStore on a 3-master Redis Cluster", (clock) => openStore({ clock }));

describe("RedisSlidingWindowStore on a 3-master Redis Cluster", () => {
  test("replicas admit exactly 25 per minute per grant, for two grants independently", async () => {
    const policy = mcpPolicy(`
rateLimit: {store: redis, redis: {url: "${cluster.url}"}}
allTools: {limits: [{counter: all-tools, window: hour, max: 1000}]}
tools:
  - name: resume_execution
    limits: [{window: minute, max: 25}]`);
    const prefix = `replicas-${randomBytes(4).toString("hex")}:`;
    const replicas = await Promise.all([1, 2, 3].map(() => openStore({ keyPrefix: prefix })));
    const admissions = await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        const grant = i % 2 === 0 ? "alice" : "bob";
        return decideToolCall(
          policy,
          call("resume_execution", {}, caller(grant)),
          replicas[i % 3] as RedisSlidingWindowStore,
        ).then((a) => ({ grant, a }));
      }),
    );
    for (const grant of ["alice", "bob"]) {
      const mine = admissions.filter((x) => x.grant === grant);
      assert.equal(mine.filter((x) => x.a.decision === "allowed").length, 25, grant);
      assert.ok(mine.filter((x) => x.a.decision !== "allowed").every((x) => x.a.reason === "limit_exceeded"));
    }
    // Both budgets of a call (all-tools and the tool's own) sit under the caller's tag, on one master.
    const perMaster = await keysPerMaster(prefix);
    assert.equal(
      perMaster.reduce((a, b) => a + b, 0),
      4,
    );
  });

  test("spreads callers over every master", async () => {
    const policy = mcpPolicy(`
rateLimit: {store: redis, redis: {url: "${cluster.url}"}}
allTools: {limits: [{counter: per-caller, window: minute, max: 5}]}
default: allow`);
    assert.equal(policy.limitPartitioning, "grant");
    const prefix = `spread-${randomBytes(4).toString("hex")}:`;
    const store = await openStore({ keyPrefix: prefix });
    const decisions = await Promise.all(
      Array.from({ length: 60 }, (_, i) => decideToolCall(policy, call("any_tool", {}, caller(`agent-${i}`)), store)),
    );
    assert.ok(decisions.every((d) => d.decision === "allowed"));
    const perMaster = await keysPerMaster(prefix);
    assert.equal(
      perMaster.reduce((a, b) => a + b, 0),
      60,
    );
    assert.ok(
      perMaster.every((n) => n >= 5),
      `keys per master: ${perMaster.join(", ")}`,
    );
  });

  test("keeps a policy with a global limit in one slot, so its calls stay atomic", async () => {
    const policy = mcpPolicy(`
rateLimit: {store: redis, redis: {url: "${cluster.url}"}}
allTools: {limits: [{counter: everyone, window: minute, max: 40, scope: global}]}
default: allow
tools:
  - name: "*"
    limits: [{counter: per-caller, window: minute, max: 25}]`);
    assert.equal(policy.limitPartitioning, "policy");
    const prefix = `global-${randomBytes(4).toString("hex")}:`;
    const replicas = await Promise.all([1, 2, 3].map(() => openStore({ keyPrefix: prefix })));
    const grants = ["alice", "bob", "carol", "dave"];
    const admissions = await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        const grant = grants[i % 4] as string;
        return decideToolCall(
          policy,
          call(`tool_${i % 5}`, {}, caller(grant)),
          replicas[i % 3] as RedisSlidingWindowStore,
        ).then((a) => ({ grant, a }));
      }),
    );
    const allowed = admissions.filter((x) => x.a.decision === "allowed");
    assert.equal(allowed.length, 40);
    for (const grant of grants) assert.ok(allowed.filter((x) => x.grant === grant).length <= 25);
    const perMaster = await keysPerMaster(prefix);
    assert.deepEqual(
      perMaster.filter((n) => n > 0),
      [1 + grants.length],
      `keys per master: ${perMaster.join(", ")}`,
    );
  });
});

describe("RedisSlidingWindowStore when one master of the cluster hangs", () => {
  test("callers on the other masters are decided as usual; the rest fail within the timeout, then recover", async () => {
    const store = await openStore({ timeoutMs: 200 });
    const grants = Array.from({ length: 30 }, (_, i) => `agent-${i}`);
    const check = (grant: string) => ({ key: `t|grant|${grant}`, windowMs: 60_000, max: 1_000, partition: grant });
    // Which master holds each caller's slot.
    await Promise.all(grants.map((g) => store.consume([check(g)])));
    const owner = new Map<string, number>();
    for (const [index, node] of cluster.nodes.entries()) {
      const keys = (
        await node.cli("--scan", "--pattern", store.redisKey({ key: "t|grant|*", partition: "*" }).replace("{*}", "*"))
      ).split("\n");
      for (const key of keys) {
        const grant = /\|grant\|(.+)$/.exec(key)?.[1];
        if (grant) owner.set(grant, index);
      }
    }
    assert.equal(owner.size, grants.length);
    const hung = cluster.nodes[0] as (typeof cluster.nodes)[number];
    const onHung = grants.filter((g) => owner.get(g) === 0);
    const elsewhere = grants.filter((g) => owner.get(g) !== 0);
    assert.ok(onHung.length > 0 && elsewhere.length > 0);

    hung.pause();
    try {
      // Stay well inside cluster-node-timeout (5 s), so the cluster itself stays up.
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        const results = await Promise.allSettled(grants.map((g) => store.consume([check(g)])));
        const took = performance.now() - started;
        assert.ok(took <= 1_500, `round ${round} took ${took.toFixed(0)} ms`);
        grants.forEach((g, i) => {
          const result = results[i] as PromiseSettledResult<unknown>;
          assert.equal(result.status, owner.get(g) === 0 ? "rejected" : "fulfilled", `${g} on master ${owner.get(g)}`);
        });
      }
    } finally {
      hung.resume();
    }
    const resumed = performance.now();
    for (;;) {
      const results = await Promise.allSettled(onHung.map((g) => store.consume([check(g)])));
      if (results.every((r) => r.status === "fulfilled")) break;
      assert.ok(performance.now() - resumed <= 2_000, "callers on the resumed master are decided again within 2 s");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
});
