import assert from "node:assert/strict";
import { test } from "node:test";
import { problemsOf, mcpPolicyText } from "../../policy/testing.ts";
import {
  REDIS_URL_ENV,
  resolveRateLimitStoreSettings,
  sameStoreSettings,
  RateLimitStoreConfigError,
} from "../../policy/ratelimit/store-settings.ts";
import { SlidingWindowMemoryStore } from "../../policy/ratelimit/memory-store.ts";
import { RedisUrlError } from "../../policy/ratelimit/redis-target.ts";
import type { RateLimitSpec } from "../../policy/schema.ts";
import { createRateLimitStore } from "./create-store.ts";

const context = { policyName: "agents/kestra", env: {} };
const redis = (redisConfig: RateLimitSpec["redis"]): RateLimitSpec => ({
  store: "redis",
  failMode: "closed",
  redis: redisConfig,
});

test("the memory store is the default", async () => {
  const settings = resolveRateLimitStoreSettings(undefined, context);
  assert.equal(settings.kind, "memory");
  const store = createRateLimitStore(settings);
  assert.ok(store instanceof SlidingWindowMemoryStore);
  await store.close();
  assert.equal(resolveRateLimitStoreSettings({ store: "memory", failMode: "closed" }, context).kind, "memory");
});

test("a Redis URL in the policy, with a key prefix derived from the policy's name", () => {
  const settings = resolveRateLimitStoreSettings(
    redis({ url: "redis://:pw@redis.infra:6379", timeoutMs: 250 }),
    context,
  );
  assert.equal(settings.kind, "redis");
  if (settings.kind !== "redis") return;
  assert.equal(settings.keyPrefix, "mcp-warden:agents/kestra:");
  assert.equal(settings.timeoutMs, 250);
  assert.deepEqual(settings.target.nodes, [{ host: "redis.infra", port: 6379 }]);
  assert.equal(
    settings.description,
    `Redis redis://:***@redis.infra:6379 (key prefix "mcp-warden:agents/kestra:", timeout 250 ms)`,
  );
  assert.ok(!settings.identity.includes("pw"));
});

test("a secretRef's URL comes from MCP_WARDEN_REDIS_URL", () => {
  const config = redis({ secretRef: { name: "redis-auth", key: "url" }, keyPrefix: "kestra:", timeoutMs: 100 });
  const settings = resolveRateLimitStoreSettings(config, {
    ...context,
    env: { [REDIS_URL_ENV]: "redis+cluster://a:7000,b:7001" },
  });
  assert.equal(settings.kind === "redis" && settings.target.mode, "cluster");
  assert.equal(settings.kind === "redis" && settings.keyPrefix, "kestra:");
  assert.throws(
    () => resolveRateLimitStoreSettings(config, context),
    (err: unknown) =>
      err instanceof RateLimitStoreConfigError &&
      /key "url" of Secret "redis-auth".*MCP_WARDEN_REDIS_URL is not set/.test(err.message),
  );
  assert.throws(
    () => resolveRateLimitStoreSettings(config, { ...context, env: { [REDIS_URL_ENV]: "redis://u:hunter2@h:0" } }),
    (err: unknown) => {
      return err instanceof RedisUrlError && !err.message.includes("hunter2");
    },
  );
});

test("a Redis store without exactly one URL source is refused", () => {
  assert.throws(
    () => resolveRateLimitStoreSettings({ store: "redis", failMode: "closed" }, context),
    /neither spec.rateLimit.redis.url nor/,
  );
  assert.throws(
    () =>
      resolveRateLimitStoreSettings(
        redis({ url: "redis://h", secretRef: { name: "s", key: "k" }, timeoutMs: 250 }),
        context,
      ),
    /sets both url and secretRef/,
  );
});

test("settings are the same exactly when the store can be kept across a reload", () => {
  const env = { [REDIS_URL_ENV]: "redis://:one@h" };
  const a = resolveRateLimitStoreSettings(redis({ secretRef: { name: "s", key: "k" }, timeoutMs: 250 }), {
    ...context,
    env,
  });
  const same = resolveRateLimitStoreSettings(redis({ secretRef: { name: "s", key: "k" }, timeoutMs: 250 }), {
    ...context,
    env,
  });
  const rotated = resolveRateLimitStoreSettings(redis({ secretRef: { name: "s", key: "k" }, timeoutMs: 250 }), {
    ...context,
    env: { [REDIS_URL_ENV]: "redis://:two@h" },
  });
  const slower = resolveRateLimitStoreSettings(redis({ secretRef: { name: "s", key: "k" }, timeoutMs: 500 }), {
    ...context,
    env,
  });
  const memory = resolveRateLimitStoreSettings(undefined, context);
  assert.ok(sameStoreSettings(a, same));
  assert.ok(!sameStoreSettings(a, rotated));
  assert.ok(!sameStoreSettings(a, slower));
  assert.ok(!sameStoreSettings(a, memory));
  assert.ok(sameStoreSettings(memory, resolveRateLimitStoreSettings({ store: "memory", failMode: "open" }, context)));
});

test("policy lint reports a Redis store without a URL source, with both, or with a malformed URL", () => {
  assert.deepEqual(problemsOf(mcpPolicyText("rateLimit: {store: redis}")), [
    "spec.rateLimit: store redis needs redis.url or redis.secretRef",
  ]);
  assert.deepEqual(
    problemsOf(mcpPolicyText(`rateLimit: {store: redis, redis: {url: "redis://h", secretRef: {name: s, key: k}}}`)),
    ["spec.rateLimit.redis: set url or secretRef, not both"],
  );
  const [problem] = problemsOf(mcpPolicyText(`rateLimit: {store: redis, redis: {url: "redis://u:hunter2@h:70000"}}`));
  assert.match(problem ?? "", /^spec.rateLimit.redis.url: invalid Redis URL redis:\/\/u:\*\*\*@h:70000: port 70000/);
  assert.deepEqual(problemsOf(mcpPolicyText(`rateLimit: {store: redis, redis: {secretRef: {name: s, key: k}}}`)), []);
});
