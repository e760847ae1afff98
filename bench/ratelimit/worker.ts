// One benchmark client in its own process (a sidecar replica's share of the load): connects to the
// Redis given, says "ready", runs one round on "go" and prints its LoadResult as JSON.
import { createInterface } from "node:readline";
import { RedisSlidingWindowStore } from "../../sidecar/ratelimit/redis-store.ts";
import { parseRedisUrl } from "../../policy/ratelimit/redis-target.ts";
import { benchCalls, benchPolicy, runLoad } from "./load.ts";

const [url, keyPrefix, concurrency, durationMs, grants] = process.argv.slice(2);
const store = new RedisSlidingWindowStore({
  target: parseRedisUrl(url as string),
  keyPrefix: keyPrefix as string,
  timeoutMs: 250,
});
await store.waitUntilAvailable(5_000);
const policy = benchPolicy(1_000_000);
const calls = benchCalls(Number(grants));
// Warm up the JIT and the script cache before the measured round.
await runLoad(policy, calls, store, { concurrency: Number(concurrency), durationMs: 500 });
process.stdout.write("ready\n");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line !== "go") continue;
  const result = await runLoad(policy, calls, store, {
    concurrency: Number(concurrency),
    durationMs: Number(durationMs),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
await store.close();
