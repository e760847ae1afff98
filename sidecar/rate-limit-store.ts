// Which rate-limit store a policy asks for. The store outlives policy reloads (counters are kept);
// it is only replaced when a new policy asks for a different kind of store.
import { SlidingWindowMemoryStore } from "../policy/ratelimit/memory-store.ts";
import type { RateLimitStore } from "../policy/ratelimit/store.ts";
import type { McpPolicySpecType } from "../policy/schema.ts";

export type StoreKind = "memory" | "redis";

export interface StoreFactory {
  /** Undefined when this build can make the kind; otherwise why not, for the policy's problem list. */
  unsupported(spec: McpPolicySpecType): string | undefined;
  create(spec: McpPolicySpecType): RateLimitStore;
}

export function storeKind(spec: McpPolicySpecType): StoreKind {
  return spec.rateLimit?.store ?? "memory";
}

/** The stores this build has: memory. (The Redis store plugs in here.) */
export const builtinStores: StoreFactory = {
  unsupported(spec) {
    return storeKind(spec) === "redis"
      ? "rateLimit.store redis is not available in this build of the sidecar; use memory"
      : undefined;
  },
  create() {
    return new SlidingWindowMemoryStore();
  },
};
