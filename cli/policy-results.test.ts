// Result rules through the policy commands: the Kestra policies `policy init` prints redact secrets
// in stored values at every level and withhold them at strict; `policy test --cases` checks what a
// given result becomes; `policy explain` lists a tool's result rules and judges a result.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePolicyText } from "../policy/load.ts";
import { runCli, tempFile } from "./testing.ts";

const AWS_KEY = "AKIAZ7Q3M5R2TY8WXK4P";
const KV_GET = { namespace: "company.team", action: "get", key: "aws" };

async function initPolicy(level: string): Promise<string> {
  const init = await runCli("policy", "init", "--server", "kestra", "--level", level, "--identity", "api-keys");
  assert.equal(init.code, 0, init.stderr);
  return tempFile(`kestra-${level}.yaml`, init.stdout);
}

test("policy init: stored values are redacted at every level and withheld at strict", async () => {
  for (const level of ["read-only", "balanced", "strict"]) {
    const spec = parsePolicyText(
      (await runCli("policy", "init", "--server", "kestra", "--level", level)).stdout,
      level,
    ).spec;
    const rule = (name: string) => spec.tools?.find((t) => t.name === name);
    const files = rule("namespace_file_action");
    assert.deepEqual(files?.results, level === "strict" ? { denyIf: ["secrets"] } : { redact: ["secrets"] }, level);
    const kv = rule("manage_kv_store");
    // strict already denies KV reads: no result comes back to judge.
    assert.deepEqual(
      kv?.action === "deny" ? "denied" : kv?.results,
      level === "strict" ? "denied" : { redact: ["secrets"] },
      level,
    );
  }
});

test("policy test --cases: a case gives a result and expects it redacted, withheld or passed", async () => {
  const balanced = await initPolicy("balanced");
  const strict = await initPolicy("strict");
  const cases = await tempFile(
    "result-cases.yaml",
    `cases:
  - name: a KV read comes back with its AWS key redacted
    tool: manage_kv_store
    args: ${JSON.stringify(KV_GET)}
    caller: alice
    expect: allowed
    result: {content: [{type: text, text: "aws_access_key_id = ${AWS_KEY}"}], structuredContent: {key: aws, value: "${AWS_KEY}"}}
    expectResult: {action: redacted, detectors: [aws-access-key-id], contains: ["[REDACTED:aws-access-key-id]"], excludes: ["${AWS_KEY}"]}
  - name: a result without secrets passes
    tool: namespace_file_action
    args: {namespace: company.team, action: search, q: etl}
    caller: alice
    expect: allowed
    result: "/scripts/etl.py"
    expectResult: passed
`,
  );
  const ok = await runCli("policy", "test", balanced, "--cases", cases);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /✓ a KV read comes back with its AWS key redacted/);
  assert.match(ok.stdout, /2 passed, 0 failed/);

  const withheld = await tempFile(
    "strict-cases.yaml",
    `cases:
  - name: strict withholds a file search result that holds a token
    tool: namespace_file_action
    args: {namespace: company.team, action: search, q: x}
    caller: alice
    expect: allowed
    result: "/keys/ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789.txt"
    expectResult: {action: withheld, reason: detector, detectors: [github-token], excludes: [ghp_aBcDeF]}
  - name: a wrong expectation fails with a diff
    tool: namespace_file_action
    args: {namespace: company.team, action: search, q: x}
    caller: alice
    expect: allowed
    result: "/keys/ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789.txt"
    expectResult: passed
`,
  );
  const mixed = await runCli("policy", "test", strict, "--cases", withheld);
  assert.equal(mixed.code, 1);
  assert.match(mixed.stdout, /✓ strict withholds a file search result that holds a token/);
  assert.match(
    mixed.stdout,
    /✗ a wrong expectation fails with a diff\n\s+step 1, call 1: result action\n\s+expected: passed\n\s+actual:\s+withheld/,
  );
});

test("policy explain lists a tool's result rules and judges a given result", async () => {
  const balanced = await initPolicy("balanced");
  const result = JSON.stringify({ content: [{ type: "text", text: `id ${AWS_KEY}` }] });
  const explained = await runCli(
    "policy",
    "explain",
    balanced,
    "--tool",
    "manage_kv_store",
    "--args",
    JSON.stringify(KV_GET),
    "--caller",
    "alice",
    "--result",
    result,
  );
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /^results: {2}redact private-key, aws-access-key-id, .*high-entropy$/m);
  assert.match(
    explained.stdout,
    /^results: {2}withhold answers over 4194304 bytes \(default maxBytes of scanned results\)$/m,
  );
  assert.match(explained.stdout, /^results: {2}from \/spec\/tools\/\d+\/results$/m);
  assert.match(explained.stdout, /^verdict: {2}redacted: aws-access-key-id \(1 match\)$/m);
  assert.match(
    explained.stdout,
    /^shown: {4}\{"content":\[\{"type":"text","text":"id \[REDACTED:aws-access-key-id\]"\}\]\}$/m,
  );
  const json = await runCli(
    "policy",
    "explain",
    balanced,
    "--tool",
    "manage_kv_store",
    "--args",
    JSON.stringify(KV_GET),
    "--result",
    result,
    "--json",
  );
  const shown = JSON.parse(json.stdout) as {
    results: { redact: string[]; verdict: { action: string; detectors: Record<string, number> } };
  };
  assert.equal(shown.results.verdict.action, "redacted");
  assert.deepEqual(shown.results.verdict.detectors, { "aws-access-key-id": 1 });
  const bad = await runCli("policy", "explain", balanced, "--tool", "manage_kv_store", "--result", "[1]");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--result must be a JSON object/);
});
