// The rate-limit store for resolved settings (policy/ratelimit/store-settings.ts): the memory store,
// or the Redis store, whose client (ioredis) is loaded only when the first Redis store connects.
import { SlidingWindowMemoryStore } from "../../policy/ratelimit/memory-store.ts";
import type { RateLimitStoreSettings } from "../../policy/ratelimit/store-settings.ts";
import { RedisSlidingWindowStore, type RedisStoreEvents } from "./redis-store.ts";

export interface CreateStoreOptions {
  /** Redis only: failed operations (count them) and connection changes (log them). */
  readonly events?: RedisStoreEvents;
}

export function createRateLimitStore(
  settings: RateLimitStoreSettings,
  options: CreateStoreOptions = {},
): SlidingWindowMemoryStore | RedisSlidingWindowStore {
  if (settings.kind === "memory") return new SlidingWindowMemoryStore();
  return new RedisSlidingWindowStore({
    target: settings.target,
    keyPrefix: settings.keyPrefix,
    timeoutMs: settings.timeoutMs,
    ...(options.events ? { events: options.events } : {}),
  });
}
