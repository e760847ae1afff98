// Connecting the Redis store as production does, against real redis-servers: TLS with a private CA
// trusted through NODE_EXTRA_CA_CERTS, a password, and an ACL user limited to the store's keys and
// commands. Failures say why and never show the password.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { RedisSlidingWindowStore } from "../../sidecar/ratelimit/redis-store.ts";
import { parseRedisUrl } from "../../policy/ratelimit/redis-target.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";
import { makeTestCertificates, type TestCertificates } from "../support/tls.ts";

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL("./fixtures/consume-once.ts", import.meta.url));
/** What the store needs, and nothing more: its scripts and the commands they run, on its own keys. */
const STORE_ACL =
  "on >store-pw ~mcp-warden:* resetchannels -@all +ping +hello +info +client|setname +eval +evalsha +time +zremrangebyscore +zcard +zrange +zadd +pexpire +zrem";

let certificates: TestCertificates;
let tlsServer: RedisServer;
let authServer: RedisServer;
const stores: RedisSlidingWindowStore[] = [];

before(async () => {
  certificates = await makeTestCertificates();
  tlsServer = await startRedisServer({ tls: certificates });
  authServer = await startRedisServer({
    args: ["--requirepass", "default-pw", "--user", "warden", ...STORE_ACL.split(" ")],
  });
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all([tlsServer?.stop(), authServer?.stop()]);
  await certificates?.remove();
});

function openStore(url: string): RedisSlidingWindowStore {
  const store = new RedisSlidingWindowStore({
    target: parseRedisUrl(url),
    keyPrefix: "mcp-warden:test:",
    timeoutMs: 1_000,
  });
  stores.push(store);
  return store;
}

async function consumeInChild(
  url: string,
  env: Record<string, string>,
): Promise<{ admitted?: boolean; error?: string }> {
  const { stdout } = await run(process.execPath, [CHILD, url], { env: { ...process.env, ...env }, timeout: 20_000 });
  return JSON.parse(stdout) as { admitted?: boolean; error?: string };
}

describe("Redis store connections", () => {
  test("connects over TLS to a server whose private CA is trusted through NODE_EXTRA_CA_CERTS", async () => {
    assert.deepEqual(await consumeInChild(tlsServer.url, { NODE_EXTRA_CA_CERTS: certificates.caFile }), {
      admitted: true,
    });
    assert.equal(await tlsServer.cli("zcard", "mcp-warden:child:{p}k"), "1");
  });

  test("refuses a TLS server it cannot verify, and says why", async () => {
    const store = openStore(tlsServer.url);
    await assert.rejects(store.waitUntilAvailable(1_500), /rediss:\/\/localhost:\d+ .*not reachable.*certificate/);
    await assert.rejects(store.consume([{ key: "k", windowMs: 1_000, max: 1 }]), { message: "no connection to Redis" });
  });

  test("authenticates as an ACL user allowed only the store's keys and commands", async () => {
    const store = openStore(`redis://warden:store-pw@127.0.0.1:${authServer.port}`);
    await store.waitUntilAvailable(5_000);
    const admitted = await store.consume([
      { key: "a", windowMs: 60_000, max: 1, partition: "alice" },
      { key: "b", windowMs: 1_000, max: 1, partition: "alice" },
    ]);
    assert.ok(admitted.admitted);
    const refused = await store.consume([{ key: "a", windowMs: 60_000, max: 1, partition: "alice" }]);
    assert.ok(
      !refused.admitted && refused.blocked === 0 && refused.retryAfterMs > 50_000 && refused.retryAfterMs <= 60_000,
      JSON.stringify(refused),
    );
    await store.refund(admitted.reservation);
    assert.equal((await store.consume([{ key: "a", windowMs: 60_000, max: 1, partition: "alice" }])).admitted, true);
  });

  test("authenticates with the default user's password", async () => {
    const store = openStore(`redis://:default-pw@127.0.0.1:${authServer.port}`);
    await store.waitUntilAvailable(5_000);
    assert.equal((await store.consume([{ key: "k", windowMs: 1_000, max: 1 }])).admitted, true);
  });

  test("a wrong password is reported as such, without the password", async () => {
    const store = openStore(`redis://warden:not-the-password@127.0.0.1:${authServer.port}`);
    await assert.rejects(store.waitUntilAvailable(1_500), (err: Error) => {
      assert.match(err.message, /redis:\/\/warden:\*\*\*@127\.0\.0\.1:\d+ .*not reachable.*WRONGPASS/);
      assert.doesNotMatch(err.message, /not-the-password/);
      return true;
    });
  });
});
