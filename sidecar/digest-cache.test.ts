import assert from "node:assert/strict";
import { hash } from "node:crypto";
import { describe, it } from "node:test";
import { DigestCache } from "./digest-cache.ts";
import { grantLine, matchApiKey, parseApiKeyGrants } from "./identity/api-keys.ts";

describe("digest cache", () => {
  it("holds at most its limit, dropping the oldest entry first, and always answers the digest", () => {
    const cache = new DigestCache<string>(3, (s) => hash("sha256", s, "hex"));
    for (const s of ["a", "b", "c", "d", "e"]) assert.equal(cache.digest(s), hash("sha256", s, "hex"));
    assert.equal(cache.size, 3);
    assert.equal(cache.cached("a"), undefined);
    assert.equal(cache.cached("e"), hash("sha256", "e", "hex"));
    assert.equal(cache.digest("a"), hash("sha256", "a", "hex"));
    assert.equal(cache.size, 3);
    assert.throws(() => new DigestCache(0, (s) => s), /at least one entry/);
  });

  it("keeps no input longer than its bound (session ids are caller-chosen header values), and still answers their digest", () => {
    const cache = new DigestCache<string>(4096, (s) => hash("sha256", s, "hex"));
    for (let i = 0; i < 100; i++) {
      const long = `${i}-${"s".repeat(8000)}`;
      assert.equal(cache.digest(long), hash("sha256", long, "hex"));
      cache.remember(long, "x");
    }
    assert.equal(cache.size, 0);
    assert.equal(cache.digest("s".repeat(256)), hash("sha256", "s".repeat(256), "hex"));
    assert.equal(cache.size, 1);
  });

  it("never lets a key that matched once match a grant file that no longer lists it", () => {
    const before = parseApiKeyGrants(grantLine("ci-bot", "cached-key"));
    const after = parseApiKeyGrants(grantLine("other", "another-key"));
    assert.ok(before.ok && after.ok);
    assert.equal(matchApiKey(before.grants, "cached-key"), "ci-bot");
    assert.equal(matchApiKey(before.grants, "cached-key"), "ci-bot");
    assert.equal(matchApiKey(after.grants, "cached-key"), undefined);
    assert.equal(matchApiKey(after.grants, "another-key"), "other");
  });
});
