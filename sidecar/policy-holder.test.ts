import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { parsePolicyText } from "../policy/load.ts";
import { RedisSlidingWindowStore } from "./ratelimit/redis-store.ts";
import { SlidingWindowMemoryStore } from "../policy/ratelimit/memory-store.ts";
import { SidecarMetrics } from "./observability/metrics.ts";
import { PolicyHolder } from "./policy-holder.ts";

const doc = (generation: number, spec: string) =>
  parsePolicyText(
    `apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: p, namespace: ns, generation: ${generation}}\nspec: ${spec}\n`,
    "x",
  );

function holder() {
  const metrics = new SidecarMetrics({ version: "test" }, { processMetrics: false });
  const h = new PolicyHolder({ metrics, log: pino({ level: "silent" }) });
  const sample = async (name: string) => (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  return { h, sample };
}

describe("PolicyHolder", () => {
  it("installs compiled policies, publishes policy_info and tells listeners", async () => {
    const { h, sample } = holder();
    const seen: string[] = [];
    h.onChange((p) => seen.push(`${p.name}@${p.generation}`));
    assert.equal(h.current === undefined, true);
    assert.equal(h.accept(doc(1, "{default: deny}")), true);
    assert.equal(h.accept(doc(2, "{default: allow}")), true);
    assert.deepEqual(seen, ["ns/p@1", "ns/p@2"]);
    const info = await sample("mcp_warden_policy_info");
    assert.equal(info.length, 1, "only the policy in force is published");
    assert.deepEqual(
      { ...info[0]?.labels },
      { policy: "ns/p", format: "McpPolicy", version: "2", digest: h.current?.digest, mode: "Enforce" },
    );
    assert.deepEqual((await sample("mcp_warden_policy_reloads_total")).map((v) => [v.labels.result, v.value]).sort(), [
      ["invalid", 0],
      ["success", 2],
    ]);
    assert.deepEqual(
      (await sample("mcp_warden_rate_limit_store_errors_total")).map((v) => [v.labels.store, v.value]),
      [["memory", 0]],
      "the store in use starts at zero",
    );
  });

  it("keeps the last good policy when a new version does not compile, and counts it", async () => {
    const { h, sample } = holder();
    h.accept(doc(1, "{default: deny}"));
    assert.equal(h.accept(doc(2, "{default: deny, tools: [{name: a, denyIf: ['args.x ==']}]}")), false);
    assert.equal(h.current?.generation, 1);
    assert.match(h.lastRejection?.[0]?.message ?? "", /./);
    assert.deepEqual((await sample("mcp_warden_policy_reloads_total")).map((v) => [v.labels.result, v.value]).sort(), [
      ["invalid", 1],
      ["success", 1],
    ]);
    h.handlers().invalid(Object.assign(new Error("x"), { problems: [{ path: ["spec"], message: "bad" }] }));
    assert.equal(h.current?.generation, 1);
  });

  it("keeps one rate-limit store across reloads, so counters survive", () => {
    const { h } = holder();
    h.accept(doc(1, "{default: deny}"));
    const store = h.store;
    assert.ok(store instanceof SlidingWindowMemoryStore);
    h.accept(doc(2, "{default: allow}"));
    assert.equal(h.store, store);
  });

  it("rejects a policy whose Redis URL cannot be had, keeping the policy in force", () => {
    const { h } = holder();
    h.accept(doc(1, "{default: deny}"));
    assert.equal(
      h.accept(doc(2, "{default: deny, rateLimit: {store: redis, redis: {secretRef: {name: redis, key: url}}}}")),
      false,
    );
    assert.match(
      h.lastRejection?.map((p) => `${p.path.join(".")}: ${p.message}`).join() ?? "",
      /spec\.rateLimit: .*MCP_WARDEN_REDIS_URL is not set/,
    );
    assert.equal(h.current?.generation, 1);
  });

  it("switches to a Redis store when the policy asks for one, and keeps it while the settings stay the same", async () => {
    const { h } = holder();
    h.accept(doc(1, "{default: deny}"));
    const memory = h.store;
    h.accept(doc(2, "{default: deny, rateLimit: {store: redis, redis: {url: 'redis://127.0.0.1:1'}}}"));
    assert.ok(h.store instanceof RedisSlidingWindowStore);
    const redis = h.store;
    h.accept(doc(3, "{default: allow, rateLimit: {store: redis, redis: {url: 'redis://127.0.0.1:1'}}}"));
    assert.equal(h.store, redis, "same settings, same store: counters survive");
    h.accept(doc(4, "{default: allow}"));
    assert.ok(h.store instanceof SlidingWindowMemoryStore);
    assert.notEqual(h.store, memory, "a new memory store: the Redis one was closed");
    await h.close();
  });
});
