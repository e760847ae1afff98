import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { argumentsPreview, isSecretKey, redactText, REDACTED } from "./preview.ts";

describe("argumentsPreview", () => {
  it("shows ordinary arguments as canonical JSON, unchanged", () => {
    assert.equal(
      argumentsPreview({ namespace: "dev.team", execution_ids: ["e1"], wait: true }),
      '{"execution_ids":["e1"],"namespace":"dev.team","wait":true}',
    );
  });

  it("never shows values under secret-looking keys, at any depth", () => {
    const text = argumentsPreview({
      password: "hunter2",
      inputs: { api_key: "k-123", db: { clientSecret: { v: "s" } } },
      headers: [{ Authorization: "Bearer abc" }],
      max_tokens: 10,
    });
    for (const secret of ["hunter2", "k-123", '"s"', "abc"])
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.match(text, /"max_tokens":10/, "a count of tokens is no secret");
    for (const key of [
      "password",
      "DB_PASSWORD",
      "apiKey",
      "x-api-key",
      "access_token",
      "privateKey",
      "auth",
      "credentials",
      "Cookie",
    ])
      assert.ok(isSecretKey(key), key);
    for (const key of ["namespace", "secretName", "token_url", "max_tokens", "key", "author"])
      assert.ok(!isSecretKey(key), key);
  });

  it("removes secret-looking text inside values (YAML flows, URLs, tokens)", () => {
    const yaml =
      "id: f\ntasks:\n  - type: io.kestra.plugin.jdbc.Query\n    url: postgres://app:s3cr3t@db:5432/x\n    password: pa55word\n    token: 'tok-999'\n";
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    const text = argumentsPreview({
      yaml_definition: yaml,
      note: `use ${jwt}`,
      header: "Bearer abcdefghijklmnop",
      key: "AKIAABCDEFGHIJKLMNOP",
      pem: "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
    });
    for (const secret of [
      "s3cr3t",
      "pa55word",
      "tok-999",
      jwt.slice(0, 20),
      "abcdefghijklmnop",
      "AKIAABCDEFGHIJKLMNOP",
      "MIIE",
    ]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.match(text, /postgres:\/\/app:\[redacted\]@db/);
    assert.equal(redactText("just a sentence about passwords"), "just a sentence about passwords");
  });

  it("cuts long strings and lists and says by how much", () => {
    const text = argumentsPreview({ body: "x".repeat(1000), ids: Array.from({ length: 50 }, (_, i) => `e${i}`) });
    assert.match(text, /x… \(\+744 chars\)/);
    assert.match(text, /"… \+18 more"/);
  });

  it("stays within the byte bound whatever the arguments (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 256, max: 4096 }), (value, max) => {
        const args = typeof value === "object" && value !== null && !Array.isArray(value) ? value : { value };
        const text = argumentsPreview(args, max);
        assert.ok(Buffer.byteLength(text) <= max, `${Buffer.byteLength(text)} > ${max}`);
        JSON.parse(text);
      }),
      { numRuns: 300 },
    );
    const huge = Object.fromEntries(
      Array.from({ length: 5000 }, (_, i) => [`k${"é".repeat(100)}${i}`, "v".repeat(500)]),
    );
    assert.ok(Buffer.byteLength(argumentsPreview(huge, 2048)) <= 2048);
  });

  it("redacts before cutting, so half a secret is never shown", () => {
    const text = argumentsPreview({ note: `${"a".repeat(250)} password=${"p".repeat(40)}` });
    assert.ok(!text.includes("pppp"), text);
    assert.ok(text.includes(REDACTED) || text.includes("chars)"));
  });
});
