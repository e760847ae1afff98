// docs/results.md as written: its example policy compiles and does what the page says, and its
// example case passes against that policy.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { CaseFile, runCases } from "../../policy/case-runner.ts";
import { inspectResult } from "../../policy/results/inspect.ts";
import { BUILTIN_DETECTORS, DETECTOR_GROUPS } from "../../policy/results/detectors.ts";
import { caller, mcpPolicy } from "../../policy/testing.ts";
import { fencedBlocks } from "./markdown.ts";

const PAGE = readFileSync(join(import.meta.dirname, "..", "..", "docs", "results.md"), "utf8");
const yamlBlocks = fencedBlocks(PAGE).filter((b) => b.lang === "yaml");
const policyText = (yamlBlocks[0]?.text ?? "").replace(/^spec:\n/, "").replace(/^ {2}/gm, "");
const policy = mcpPolicy(`default: allow\n${policyText}`);

test("the example policy redacts, withholds by condition and by detector, as the page says", () => {
  const kv = policy.planFor("manage_kv_store").results!;
  const who = caller("alice");
  const redacted = inspectResult(
    kv,
    { content: [{ type: "text", text: "badge EMP-123456, owner a.b@example.com" }] },
    { policy: "p", tool: "manage_kv_store", args: { key: "k" }, caller: who },
  );
  assert.deepEqual(redacted.result, {
    content: [{ type: "text", text: "badge EMP-[REDACTED:employee-id], owner [REDACTED:email]" }],
  });
  assert.equal(
    inspectResult(kv, { content: [] }, { policy: "p", tool: "manage_kv_store", args: { key: "secret/x" }, caller: who })
      .reason,
    "condition",
  );
  const files = policy.planFor("namespace_file_get").results!;
  assert.equal(files.maxBytes?.limit, 65536);
  assert.ok(files.denyIf.has("private-key"));
});

test("the example case passes", async () => {
  const cases = CaseFile.parse(parse(yamlBlocks[1]?.text ?? ""));
  const [result] = await runCases(policy, cases);
  assert.deepEqual(result?.mismatches, []);
});

test("the detector table lists every built-in detector, in order, and the groups as they are", () => {
  const rows = [...PAGE.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(
    rows,
    BUILTIN_DETECTORS.map((d) => d.name),
  );
  assert.deepEqual(DETECTOR_GROUPS.secrets, rows.slice(0, 13));
  assert.deepEqual(DETECTOR_GROUPS["personal-data"], rows.slice(13));
});
