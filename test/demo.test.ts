// The README's first command: `npm run demo` must run on nothing but `npm ci`, show each decision and
// the metrics, and exit 0.
import assert from "node:assert/strict";
import { it } from "node:test";
import { runPeer } from "./support/processes.ts";

it(
  "npm run demo shows allowed, denied, rate-limited and hidden calls, then the metrics, and exits 0",
  { timeout: 60_000 },
  async () => {
    const demo = await runPeer(process.execPath, [new URL("../scripts/demo.ts", import.meta.url).pathname], {
      timeoutMs: 60_000,
    });
    assert.equal(demo.code, 0, demo.stderr);
    const out = demo.stdout;
    assert.match(out, /tools\/list → 39 tools/);
    assert.match(out, /resume_execution → \{"count":1/);
    assert.match(
      out,
      /list_executions → isError: true, \[POLICY DENIED\] Tool 'list_executions' is not allowed by policy 'kestra-resume' \(default deny\)/,
    );
    assert.match(
      out,
      /call 11 → \[RATE LIMITED\] Rate limit reached for 'resume_execution': at most 10 calls per minute per caller/,
    );
    assert.match(out, /Kestra received 10 calls/);
    assert.match(out, /tools\/list → 38 tools \(force_run_execution is gone\)/);
    assert.match(
      out,
      /force_run_execution → isError: true, Unknown tool: 'force_run_execution' \(as Kestra answers a tool it does not have\)/,
    );
    assert.match(
      out,
      /mcp_warden_tool_calls_total\{policy="kestra-resume",tool="resume_execution",decision="allowed",reason="rule_allowed",mode="Enforce"\} 10/,
    );
    assert.match(
      out,
      /mcp_warden_tool_calls_total\{policy="agents\/kestra",tool="force_run_execution",decision="denied",reason="hidden",mode="Enforce"\} 1/,
    );
    assert.match(out, /"audit":true/);
  },
);
