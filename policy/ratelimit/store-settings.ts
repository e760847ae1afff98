// The rate-limit store a policy asks for (`spec.rateLimit`), resolved and checked before anything
// connects (pure, so a bad policy or a missing Secret is reported first); the sidecar creates the store
// from these settings (sidecar/ratelimit/create-store.ts). A sidecar keeps its store across policy
// reloads while the settings stay the same (`sameStoreSettings`), so counters survive reloads.
//
// In Kubernetes the Redis URL is a credential: `redis.secretRef` names a Secret key, which the injector
// hands to the sidecar as the environment variable MCP_WARDEN_REDIS_URL (see
// docs/adr/0401-redis-url-from-secret.md). `redis.url` in the policy itself suits URLs without a password.
import { createHash } from "node:crypto";
import { parseRedisUrl, type RedisTarget } from "./redis-target.ts";
import type { RateLimitSpec } from "../schema.ts";

export const REDIS_URL_ENV = "MCP_WARDEN_REDIS_URL";
export const DEFAULT_REDIS_TIMEOUT_MS = 250;

export type RateLimitStoreSettings =
  | { readonly kind: "memory"; readonly description: string; readonly identity: string }
  | {
      readonly kind: "redis";
      readonly target: RedisTarget;
      readonly keyPrefix: string;
      readonly timeoutMs: number;
      /** For logs: no password. */
      readonly description: string;
      /** Changes exactly when a new store is needed (a digest: it covers the password). */
      readonly identity: string;
    };

export interface StoreSettingsContext {
  /** The policy's name (`namespace/name` for an McpPolicy); the default key prefix is derived from it,
   * so that policies sharing one Redis keep separate budgets. */
  readonly policyName: string;
  /** The sidecar's environment, where MCP_WARDEN_REDIS_URL arrives. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export class RateLimitStoreConfigError extends Error {
  override readonly name = "RateLimitStoreConfigError";
}

export function resolveRateLimitStoreSettings(
  config: RateLimitSpec | undefined,
  context: StoreSettingsContext,
): RateLimitStoreSettings {
  if (config?.store !== "redis")
    return { kind: "memory", description: "memory (this replica only)", identity: "memory" };
  const redis = config.redis;
  if (!redis || (redis.url === undefined && redis.secretRef === undefined)) {
    throw new RateLimitStoreConfigError(
      "spec.rateLimit.store is redis, but neither spec.rateLimit.redis.url nor spec.rateLimit.redis.secretRef is set",
    );
  }
  if (redis.url !== undefined && redis.secretRef !== undefined) {
    throw new RateLimitStoreConfigError("spec.rateLimit.redis sets both url and secretRef; set one");
  }
  let url = redis.url;
  if (url === undefined) {
    const ref = redis.secretRef as { name: string; key: string };
    url = context.env[REDIS_URL_ENV];
    if (url === undefined || url.trim() === "") {
      throw new RateLimitStoreConfigError(
        `spec.rateLimit.redis.secretRef names key "${ref.key}" of Secret "${ref.name}", which reaches the sidecar as ${REDIS_URL_ENV}, ` +
          `but ${REDIS_URL_ENV} is not set (was the pod created before the policy chose Redis? restart it)`,
      );
    }
  }
  const target = parseRedisUrl(url);
  const keyPrefix = redis.keyPrefix ?? `mcp-warden:${context.policyName}:`;
  const timeoutMs = redis.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  return {
    kind: "redis",
    target,
    keyPrefix,
    timeoutMs,
    description: `Redis ${target.redacted} (key prefix "${keyPrefix}", timeout ${timeoutMs} ms)`,
    identity: createHash("sha256")
      .update(JSON.stringify(["redis", url.trim(), keyPrefix, timeoutMs]))
      .digest("hex"),
  };
}

export function sameStoreSettings(a: RateLimitStoreSettings, b: RateLimitStoreSettings): boolean {
  return a.identity === b.identity;
}
