import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRedisUrl, redact, RedisUrlError } from "./redis-target.ts";

test("parses one server, with defaults", () => {
  assert.deepEqual(parseRedisUrl("redis://redis.infra.svc"), {
    mode: "standalone",
    nodes: [{ host: "redis.infra.svc", port: 6379 }],
    tls: false,
    username: undefined,
    password: undefined,
    db: 0,
    redacted: "redis://redis.infra.svc",
  });
});

test("parses credentials, TLS, port, database and IPv6 hosts", () => {
  const target = parseRedisUrl("rediss://warden:s%40cr%2Ft@[::1]:6380/2");
  assert.equal(target.tls, true);
  assert.deepEqual(target.nodes, [{ host: "::1", port: 6380 }]);
  assert.equal(target.username, "warden");
  assert.equal(target.password, "s@cr/t");
  assert.equal(target.db, 2);
  assert.equal(target.redacted, "rediss://warden:***@[::1]:6380/2");
  assert.equal(parseRedisUrl("redis://:only-password@h").password, "only-password");
  assert.equal(parseRedisUrl("redis://:only-password@h").username, undefined);
  assert.equal(parseRedisUrl("redis://:p/w@d@h:1").password, "p/w@d", "unencoded / and @ in a password");
});

test("parses Redis Cluster seed nodes", () => {
  const target = parseRedisUrl("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2,[fd00::3]:7002");
  assert.equal(target.mode, "cluster");
  assert.deepEqual(target.nodes, [
    { host: "10.0.0.1", port: 7000 },
    { host: "10.0.0.2", port: 6379 },
    { host: "fd00::3", port: 7002 },
  ]);
  assert.equal(parseRedisUrl("rediss+cluster://h:1").tls, true);
});

test("rejects malformed URLs with a clear message that never shows the password", () => {
  const cases: [string, RegExp][] = [
    ["http://h", /expected redis:\/\/, rediss:\/\/, redis\+cluster:\/\/ or rediss\+cluster:\/\//],
    ["redis://", /a host is missing/],
    ["redis://h:0", /port 0 is not between 1 and 65535/],
    ["redis://h:65536", /port 65536/],
    ["redis://h/x", /database "x" is not a number/],
    ["redis+cluster://h/1", /Redis Cluster has only database 0/],
    ["redis://a:1,b:2", /several hosts need redis\+cluster:\/\//],
    ["redis://h?tls=true", /query parameters/],
    ["redis://h$:1", /"h\$:1" is not host\[:port\]/],
    ["redis://u:%zz@h", /not correctly percent-encoded/],
  ];
  for (const [url, message] of cases) {
    assert.throws(
      () => parseRedisUrl(url),
      (err: unknown) => err instanceof RedisUrlError && message.test(err.message),
      url,
    );
  }
  assert.throws(
    () => parseRedisUrl("redis://user:hunter2@h:99999"),
    (err: Error) => !err.message.includes("hunter2") && err.message.includes("user:***@"),
  );
  assert.throws(
    () => parseRedisUrl("user:hunter2@h"),
    (err: Error) => !err.message.includes("hunter2"),
  );
});

test("redact hides the password, or the whole user information when it has no user", () => {
  assert.equal(redact("redis://u:p@h"), "redis://u:***@h");
  assert.equal(redact("redis://token@h"), "redis://***@h");
  assert.equal(redact("redis://h:6379"), "redis://h:6379");
  assert.equal(redact("u:p@h"), "u:***@h");
});
