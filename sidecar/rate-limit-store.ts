// Which rate-limit store the policy in force asks for. The store outlives policy reloads (counters are
// kept); it is replaced only when a new policy asks for a different store (kind, Redis target, key
// prefix or timeout).
import type { Logger } from "pino";
import type { CompiledPolicy } from "../policy/compile.ts";
import { resolveRateLimitStoreSettings, type RateLimitStoreSettings } from "../policy/ratelimit/store-settings.ts";
import { createRateLimitStore } from "./ratelimit/create-store.ts";
import type { RateLimitStore } from "../policy/ratelimit/store.ts";

export interface StoreFactory {
  /** The store settings a policy asks for; throws (with a message naming the field) when they cannot be had. */
  settings(policy: CompiledPolicy): RateLimitStoreSettings;
  create(settings: RateLimitStoreSettings): RateLimitStore;
}

/** Memory and Redis stores; the Redis URL may come from the environment (a Secret, see ADR 0401). */
export function createStoreFactory(env: Readonly<Record<string, string | undefined>>, log: Logger): StoreFactory {
  return {
    settings: (policy) => resolveRateLimitStoreSettings(policy.spec.rateLimit, { policyName: policy.name, env }),
    create: (settings) =>
      createRateLimitStore(settings, {
        events: {
          // Failed operations are counted where the sidecar performs them (decisions and refunds).
          availabilityChanged: (available, cause) =>
            available
              ? log.info({ store: settings.description }, "rate-limit store available")
              : log.error(
                  { store: settings.description, cause },
                  "rate-limit store unavailable: limited calls fail closed unless failMode is open",
                ),
        },
      }),
  };
}
