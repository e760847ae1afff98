// Owns the policy in force. Compiles what the policy source delivers, keeps the last good policy when
// a new version is invalid, counts reloads, publishes `mcp_warden_policy_info`, and tells listeners
// (identity, readiness) when the policy changes. Until a first policy is loaded, `current` is
// undefined and the enforcer denies every tool call.
import type { Logger } from "pino";
import { compilePolicy, type CompiledPolicy } from "../policy/compile.ts";
import type { LoadedPolicy } from "../policy/load.ts";
import { formatProblem, PolicyError, type PolicyProblem } from "../policy/paths.ts";
import type { RateLimitStore } from "../policy/ratelimit/store.ts";
import type { SidecarMetrics } from "./observability/metrics.ts";
import type { PolicySourceHandlers } from "./policy-source.ts";
import { sameStoreSettings, type RateLimitStoreSettings } from "../policy/ratelimit/store-settings.ts";
import { createStoreFactory, type StoreFactory } from "./rate-limit-store.ts";
import { storeKind, versionOf } from "./tool-call.ts";

export interface PolicyHolderOptions {
  metrics: SidecarMetrics;
  log: Logger;
  stores?: StoreFactory;
}

export type PolicyListener = (policy: CompiledPolicy) => void;

export class PolicyHolder {
  private policy: CompiledPolicy | undefined;
  private rateLimitStore: RateLimitStore | undefined;
  private storeSettings: RateLimitStoreSettings | undefined;
  private readonly listeners: PolicyListener[] = [];
  private readonly metrics: SidecarMetrics;
  private readonly log: Logger;
  private readonly stores: StoreFactory;
  /** The problems of the last version rejected, until a good one arrives. */
  lastRejection: readonly PolicyProblem[] | undefined;

  constructor(options: PolicyHolderOptions) {
    this.metrics = options.metrics;
    this.log = options.log;
    this.stores = options.stores ?? createStoreFactory(process.env, options.log);
  }

  get current(): CompiledPolicy | undefined {
    return this.policy;
  }

  /** The rate-limit store of the policy in force. */
  get store(): RateLimitStore | undefined {
    return this.rateLimitStore;
  }

  onChange(listener: PolicyListener): void {
    this.listeners.push(listener);
  }

  /** Handlers to give a PolicySource. */
  handlers(): PolicySourceHandlers {
    return {
      policy: (loaded) => void this.accept(loaded),
      invalid: (error) => this.reject(error.problems),
      trouble: (error) =>
        this.log.warn({ err: error.message }, "policy source trouble; the current policy stays in force"),
    };
  }

  /** Compiles and installs a policy version; false (and the old one kept) when it is invalid. */
  accept(loaded: LoadedPolicy): boolean {
    let compiled: CompiledPolicy;
    try {
      compiled = compilePolicy(loaded);
    } catch (err) {
      // A library the policy needs that cannot be loaded now (it loads with the first policy that uses
      // it) rejects the version like an invalid one: counted and logged, the previous policy kept,
      // and tried again with the next version.
      this.reject(
        err instanceof PolicyError
          ? err.problems
          : [{ path: [], message: `the policy cannot be compiled: ${(err as Error).message}` }],
      );
      return false;
    }
    let settings: RateLimitStoreSettings;
    try {
      settings = this.stores.settings(compiled);
    } catch (err) {
      this.reject([{ path: loaded.docPath(["rateLimit"]), message: (err as Error).message }]);
      return false;
    }
    const previous = this.policy;
    if (!this.rateLimitStore || !this.storeSettings || !sameStoreSettings(this.storeSettings, settings)) {
      const old = this.rateLimitStore;
      try {
        // The Redis client loads with the first Redis store: one that cannot be made rejects the version.
        this.rateLimitStore = this.stores.create(settings);
      } catch (err) {
        this.reject([
          {
            path: loaded.docPath(["rateLimit"]),
            message: `the rate-limit store cannot be created: ${(err as Error).message}`,
          },
        ]);
        return false;
      }
      this.storeSettings = settings;
      if (old) this.log.info({ store: settings.description }, "rate-limit store changed: counters start afresh");
      void old?.close();
    }
    this.policy = compiled;
    this.lastRejection = undefined;
    this.metrics.policyReloads.inc({ result: "success" });
    // The store in use gets its error series at zero, so a first failure shows up in increase().
    this.metrics.rateLimitStoreErrors.inc({ store: storeKind(compiled.spec) }, 0);
    this.metrics.policyInfo.reset();
    this.metrics.policyInfo.set(
      {
        policy: compiled.name,
        format: compiled.format,
        version: versionOf(compiled),
        digest: compiled.digest,
        mode: compiled.mode,
      },
      1,
    );
    for (const warning of compiled.warnings)
      this.log.warn({ policy: compiled.name, problem: formatProblem(warning) }, "policy warning");
    this.log.info(
      {
        policy: compiled.name,
        format: compiled.format,
        version: versionOf(compiled),
        mode: compiled.mode,
        tools: compiled.spec.tools?.length ?? 0,
        default: compiled.spec.default,
      },
      previous ? "policy reloaded" : "policy loaded",
    );
    for (const listener of this.listeners) listener(compiled);
    return true;
  }

  private reject(problems: readonly PolicyProblem[]): void {
    this.lastRejection = problems;
    this.metrics.policyReloads.inc({ result: "invalid" });
    this.log.error(
      { problems: problems.map(formatProblem), keeping: this.policy ? versionOf(this.policy) : null },
      this.policy
        ? "invalid policy rejected; the previous policy stays in force"
        : "invalid policy rejected; no policy is in force, so every tool call is denied",
    );
  }

  async close(): Promise<void> {
    await this.rateLimitStore?.close();
  }
}
