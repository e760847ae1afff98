// Fuzzing the sidecar's HTTP front with fast-check (≥ 100,000 requests per run; FUZZ_CASES and
// FUZZ_SEED to change or replay a run; `npm run fuzz:sidecar` runs a million). Random and mutated MCP
// messages, batches, encodings, sizes and headers never crash the sidecar, never get a 5xx, always get
// a JSON-RPC error when refused, never show the hidden tool, and nothing the policy forbids reaches
// the spy upstream, which re-decides every call it receives. See test/support/fuzz/.
import assert from "node:assert/strict";
import { it } from "node:test";
import { runFuzz } from "../support/fuzz/runner.ts";

const CASES = Number(process.env.FUZZ_CASES ?? 100_000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

it(
  `survives ${CASES.toLocaleString("en-US")} fuzzed requests and never lets a forbidden call through`,
  { timeout: 1_800_000 },
  async (t) => {
    const report = await runFuzz({ cases: CASES, seed: SEED });
    t.diagnostic(
      `seed ${report.seed}: ${report.requests} requests (${report.messages} JSON-RPC messages) in ${report.seconds.toFixed(0)} s; ` +
        `statuses ${JSON.stringify(report.byStatus)}; decisions ${JSON.stringify(report.decisions)}; ` +
        `the upstream received ${report.forwarded.requests} requests, ${report.forwarded.toolCalls} tool calls; ${report.auditLines} audit lines, the longest ${report.longestAuditLine} characters`,
    );
    assert.ok(report.requests >= CASES);
    // The run reached every part of the sidecar, not only its front door.
    for (const status of ["200", "202", "400", "401", "403", "404", "405", "413", "415"])
      assert.ok((report.byStatus[status] ?? 0) > 0, `no ${status} answer in the run`);
    for (const decision of ["allowed", "denied", "rate_limited", "approval_required"])
      assert.ok((report.decisions[decision] ?? 0) > 0, `no ${decision} decision in the run`);
    assert.ok(report.forwarded.toolCalls > 0);
    assert.ok(report.longestAuditLine < 4_000, `an audit line of ${report.longestAuditLine} characters`);
  },
);
