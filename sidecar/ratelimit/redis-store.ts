// Rate-limit budgets shared by every replica through Redis: the memory store's exact sliding windows,
// decided by one Lua script per call (one round trip) on the server's clock.
//
// Key layout: `<keyPrefix>{<tag>}<budget key>`, a sorted set of admission ids scored by admission time.
// The hash tag keeps every budget of one call in one Redis Cluster slot, so the script can check them
// together: the tag is the call's partition (its caller's grant), which spreads callers over the
// cluster, or the key prefix for policies with a global limit, whose budgets must all be counted
// together (see docs/adr/0400-redis-rate-limit-store.md).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRedisClient, writeBatcher, type RedisClient } from "./redis-client.ts";
import type { RedisTarget } from "../../policy/ratelimit/redis-target.ts";
import {
  RateLimitStoreError,
  type ConsumeResult,
  type LimitCheck,
  type RateLimitStore,
  type Reservation,
} from "../../policy/ratelimit/store.ts";

const CONSUME_SCRIPT = readFileSync(new URL("./redis-sliding-window.lua", import.meta.url), "utf8");
const REFUND_SCRIPT = readFileSync(new URL("./redis-refund.lua", import.meta.url), "utf8");
const CLOSE_TIMEOUT_MS = 1_000;

/** The scripts as ioredis runs them: EVALSHA, falling back to EVAL when Redis answers NOSCRIPT. */
interface ScriptCommands {
  mcpWardenConsume(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  mcpWardenRefund(numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

export interface RedisStoreEvents {
  /** A consume or refund failed; the engine applies the policy's failMode. Count these
   * (`mcp_warden_rate_limit_store_errors_total`). */
  operationFailed?(error: RateLimitStoreError): void;
  /** The connection to Redis became usable, or stopped being usable (with the last connection error).
   * Called on changes only; log these. */
  availabilityChanged?(available: boolean, cause: Error | undefined): void;
}

export interface RedisStoreOptions {
  readonly target: RedisTarget;
  /** Prepended to every key, e.g. `mcp-warden:agents/kestra:`. */
  readonly keyPrefix: string;
  /** Bound on every Redis operation; a slower or unreachable Redis makes `consume` reject. */
  readonly timeoutMs: number;
  readonly events?: RedisStoreEvents;
  /**
   * Tests only: a millisecond clock sent to the script instead of using Redis `TIME`, so windows can
   * be tested deterministically. Production leaves it unset: every replica must share Redis's clock.
   */
  readonly clock?: () => number;
  readonly connectionName?: string;
}

export class RedisSlidingWindowStore implements RateLimitStore {
  readonly description: string;
  private readonly client: RedisClient;
  private readonly scripts: ScriptCommands;
  private readonly batchWrites: () => void;
  private readonly keyPrefix: string;
  private readonly policyTag: string;
  private readonly timeoutMs: number;
  private readonly clock: (() => number) | undefined;
  private readonly events: RedisStoreEvents;
  /** Admission ids are unique across replicas: a random prefix per store plus a sequence. */
  private readonly idPrefix = `${randomBytes(9).toString("base64url")}.`;
  private sequence = 0;
  private isAvailable = false;
  private lastConnectionError: Error | undefined;
  private closed = false;

  constructor(options: RedisStoreOptions) {
    this.keyPrefix = options.keyPrefix;
    this.policyTag = options.keyPrefix.replaceAll("}", "") || "mcp-warden";
    this.timeoutMs = options.timeoutMs;
    this.clock = options.clock;
    this.events = options.events ?? {};
    this.description = `Redis ${options.target.redacted} (key prefix "${options.keyPrefix}", timeout ${options.timeoutMs} ms)`;
    this.client = createRedisClient({
      target: options.target,
      timeoutMs: options.timeoutMs,
      connectionName: options.connectionName,
    });
    this.client.defineCommand("mcpWardenConsume", { lua: CONSUME_SCRIPT });
    this.client.defineCommand("mcpWardenRefund", { lua: REFUND_SCRIPT });
    this.scripts = this.client as unknown as ScriptCommands;
    this.batchWrites = writeBatcher(this.client);
    this.client.on("error", (err: Error) => {
      this.lastConnectionError = err;
    });
    this.client.on("ready", () => this.setAvailable(true));
    this.client.on("close", () => this.setAvailable(false));
    this.client.on("end", () => this.setAvailable(false));
  }

  /** Whether the connection to Redis is up right now (for health reports; readiness does not depend on it). */
  get available(): boolean {
    return this.isAvailable;
  }

  /** Resolves once connected; rejects after `timeoutMs` otherwise. The store works without waiting:
   * until connected, consume rejects and the policy's failMode decides. */
  async waitUntilAvailable(timeoutMs: number): Promise<void> {
    if (this.isAvailable) return;
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.client.off("ready", onReady);
        const cause = this.lastConnectionError;
        reject(
          new Error(`${this.description} not reachable within ${timeoutMs} ms${cause ? `: ${cause.message}` : ""}`, {
            cause,
          }),
        );
      }, timeoutMs);
      this.client.once("ready", onReady);
    });
  }

  /** The Redis key of a budget, as `consume` uses it. */
  redisKey(check: Pick<LimitCheck, "key" | "partition">): string {
    return `${this.keyPrefix}{${this.tagFor(check.partition)}}${check.key}`;
  }

  async consume(checks: readonly LimitCheck[]): Promise<ConsumeResult> {
    const count = checks.length;
    if (count === 0) return { admitted: true, reservation: { keys: [], token: "" } };
    const partition = (checks[0] as LimitCheck).partition;
    const tag = this.tagFor(partition);
    const id = `${this.idPrefix}${(++this.sequence).toString(36)}`;
    const keys: string[] = new Array<string>(count);
    const args: (string | number)[] = new Array<string | number>(2 + 2 * count);
    args[0] = id;
    args[1] = this.clock ? this.clock() : "";
    for (let i = 0; i < count; i++) {
      const check = checks[i] as LimitCheck;
      // One slot per call: a call whose checks disagree would be refused by Redis Cluster anyway.
      if (check.partition !== partition) {
        throw this.failed(
          "consume",
          new Error(`checks of one call have different partitions ("${partition}", "${check.partition}")`),
        );
      }
      keys[i] = `${this.keyPrefix}{${tag}}${check.key}`;
      args[2 + 2 * i] = check.windowMs;
      args[3 + 2 * i] = check.max;
    }

    let reply: unknown;
    try {
      this.batchWrites();
      reply = await this.scripts.mcpWardenConsume(count, ...keys, ...args);
    } catch (err) {
      throw this.failed("consume", err);
    }
    if (!Array.isArray(reply) || typeof reply[0] !== "number" || typeof reply[1] !== "number") {
      throw this.failed("consume", new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`));
    }
    const blocked = reply[0];
    if (blocked === 0) return { admitted: true, reservation: { keys, token: id } };
    // Microseconds to milliseconds, rounded up: a retry hint must never come early.
    return { admitted: false, blocked: blocked - 1, retryAfterMs: Math.ceil(reply[1] / 1000) };
  }

  /** Rejects (with a RateLimitStoreError) when Redis cannot be reached; the admission then stays counted. */
  async refund(reservation: Reservation): Promise<void> {
    if (reservation.keys.length === 0 || typeof reservation.token !== "string") return;
    try {
      this.batchWrites();
      await this.scripts.mcpWardenRefund(reservation.keys.length, ...reservation.keys, reservation.token);
    } catch (err) {
      throw this.failed("refund", err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.isAvailable = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.quit(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
        }),
      ]);
    } catch {
      // Not connected: nothing to say goodbye to.
    } finally {
      clearTimeout(timer);
      this.client.disconnect();
    }
  }

  private tagFor(partition: string | undefined): string {
    if (!partition) return this.policyTag;
    // "}" would end the hash tag early; the full key still names the budget exactly.
    return partition.includes("}") ? partition.replaceAll("}", "") || this.policyTag : partition;
  }

  private setAvailable(available: boolean): void {
    if (this.closed || available === this.isAvailable) return;
    this.isAvailable = available;
    if (available) this.lastConnectionError = undefined;
    this.events.availabilityChanged?.(available, available ? undefined : this.lastConnectionError);
  }

  private failed(operation: "consume" | "refund", err: unknown): RateLimitStoreError {
    const error = new RateLimitStoreError(operation, this.explain(err), { cause: err });
    this.events.operationFailed?.(error);
    return error;
  }

  /** A short, agent-safe account of what went wrong (no addresses, no credentials). */
  private explain(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    if (this.closed) return "the rate-limit store is closed";
    if (/timed out|Socket timeout/i.test(message)) return `Redis did not answer within ${this.timeoutMs} ms`;
    // Sent, but the connection went down before the answer: Redis may or may not have applied it.
    if (/max retries per request|Connection is closed|ECONNRESET|EPIPE/i.test(message))
      return "the connection to Redis was lost";
    // Never sent.
    if (/writeable|isn't ready|ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND/i.test(message))
      return "no connection to Redis";
    if (/different partitions|unexpected reply/.test(message)) return `rate-limit store error: ${message}`;
    // Redis answered with an error (OOM, READONLY, CLUSTERDOWN, …): its first word is the error class.
    const code = /^[A-Z]+\b/.exec(message)?.[0];
    return code ? `Redis refused the rate-limit update (${code})` : "Redis refused the rate-limit update";
  }
}
