// The ioredis client behind the Redis rate-limit store, configured so that a slow or dead Redis costs
// a caller at most the timeout and is never replayed later:
// - every command times out after `timeoutMs` (commandTimeout), and a connection that has gone quiet
//   for as long while commands wait is dropped (socketTimeout), so a hung Redis is noticed at once;
// - while disconnected, commands fail immediately instead of queueing (no offline queue), and commands
//   lost with a connection are failed, not resent (a late replay would count calls that were refused);
// - reconnection is automatic, at most ~0.6 s apart, so the store recovers quickly when Redis returns.
// Commands issued in one tick leave in one socket write (`writeBatcher`): concurrent decisions cost one
// system call, not one each, on both sides of the connection.
// ioredis is required when the first client is made: a sidecar whose policy keeps its counters in
// memory never loads it.
import { createRequire } from "node:module";
import type * as Ioredis from "ioredis";
import type { Cluster, ClusterOptions, Redis, RedisOptions } from "ioredis";
import type { RedisTarget } from "../../policy/ratelimit/redis-target.ts";

const requireIoredis = () => createRequire(import.meta.url)("ioredis") as typeof Ioredis;

export type RedisClient = Redis | Cluster;

const isCluster = (client: RedisClient): client is Cluster => client.isCluster;

export interface RedisClientSettings {
  readonly target: RedisTarget;
  readonly timeoutMs: number;
  /** Shown by `CLIENT LIST`, so operators can tell the sidecars' connections apart. */
  readonly connectionName?: string;
}

/** Reconnect delay after `attempt` failures: quick at first, then every 0.5 s, with jitter so that many
 * sidecars do not reconnect in step. */
export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt - 1, 4), 500) + Math.floor(Math.random() * 100);
}

export function createRedisClient(settings: RedisClientSettings): RedisClient {
  const { Cluster, Redis } = requireIoredis();
  const { target, timeoutMs } = settings;
  const connection: RedisOptions = {
    username: target.username,
    password: target.password,
    connectionName: settings.connectionName ?? "mcp-warden-ratelimit",
    // The connection name identifies the sidecars; CLIENT SETINFO would only need one more ACL grant.
    disableClientInfo: true,
    commandTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    connectTimeout: Math.max(1_000, 4 * timeoutMs),
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    ...(target.tls ? { tls: {} } : {}),
  };
  if (target.mode === "cluster") {
    const options: ClusterOptions = {
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      // Slot owners can change (failover, resharding); MOVED answers are followed as they come, and
      // the map is refreshed in the background too.
      slotsRefreshInterval: 5_000,
      slotsRefreshTimeout: Math.max(1_000, 4 * timeoutMs),
      redisOptions: connection,
    };
    return new Cluster(
      target.nodes.map((node) => ({ host: node.host, port: node.port })),
      options,
    );
  }
  const node = target.nodes[0];
  if (!node) throw new Error("a Redis target needs a host");
  return new Redis({
    ...connection,
    host: node.host,
    port: node.port,
    db: target.db,
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
    ...(target.tls ? { tls: { servername: node.host } } : {}),
  });
}

/** Returns a function that, called before sending commands, holds the client's socket writes until the
 * current tick ends, so the commands of concurrent decisions leave together. */
export function writeBatcher(client: RedisClient): () => void {
  let holding = false;
  return () => {
    if (holding) return;
    const sockets = isCluster(client) ? client.nodes("master").map((node) => node.stream) : [client.stream];
    const held = sockets.filter((socket) => socket?.writable);
    if (held.length === 0) return;
    holding = true;
    for (const socket of held) socket.cork();
    process.nextTick(() => {
      holding = false;
      for (const socket of held) socket.uncork();
    });
  };
}
