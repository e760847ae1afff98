import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { grantLine, matchApiKey, parseApiKeyGrants } from "./api-keys.ts";

const sha = (k: string) => createHash("sha256").update(k).digest("hex");

describe("API-key grants", () => {
  it("reads name: sha256 lines with comments and blank lines, and matches keys to grants", () => {
    const parsed = parseApiKeyGrants(
      `# agents\n${grantLine("ci-bot", "k1")}\n\n  ops@example.com : ${sha("k2").toUpperCase()}  \n`,
    );
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.grants.map((g) => g.name),
      ["ci-bot", "ops@example.com"],
    );
    assert.equal(matchApiKey(parsed.grants, "k1"), "ci-bot");
    assert.equal(matchApiKey(parsed.grants, "k2"), "ops@example.com");
    assert.equal(matchApiKey(parsed.grants, "k3"), undefined);
    assert.equal(matchApiKey(parsed.grants, ""), undefined);
  });

  it("rejects the whole file with every problem: plain keys, bad names, duplicates", () => {
    const parsed = parseApiKeyGrants(
      `a: not-a-digest\n${grantLine("b", "x")}\n${grantLine("b", "y")}\n${grantLine("c", "x")}\nbad name!: ${sha("z")}\nno-colon\n`,
    );
    assert.equal(parsed.ok, false);
    assert.ok(!parsed.ok);
    assert.deepEqual(
      parsed.problems.map((p) => p.slice(0, p.indexOf(":"))),
      ["line 1", "line 3", "line 4", "line 5", "line 6"],
    );
    assert.match(parsed.problems[0] as string, /not the key itself/);
  });
});
