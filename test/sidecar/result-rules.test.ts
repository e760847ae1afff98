// Result rules on the sidecar's answer path: a progress notification streams to the client while the
// call it belongs to runs, untouched, and only the call's result is replaced; an answer over the
// policy's maxBytes is answered with the refusal without being read whole (JSON and SSE); in Audit
// mode the result passes and the audit line says what would have happened.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { messagesOf, rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";
import { KEYS, startHarness, startProxy, type Harness, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startControllableServer, type ControllableServer } from "../upstreams/controllable-server.ts";

describe("result rules: progress notifications pass while the result is withheld", { timeout: 60_000 }, () => {
  let upstream: ControllableServer;
  let proxy: ProxyHarness;
  before(async () => {
    upstream = await startControllableServer({ answers: "sse" });
    proxy = await startProxy(upstream.url, {
      policy: mcpPolicy(`
default: allow
tools:
  - name: gate
    results: {withholdIf: ["!result.isError"], reason: "Gate results are for operators."}
`),
    });
  });
  after(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  it("relays the progress event before the tool ends, then the withheld result", async () => {
    const client = await proxy.client(KEYS.alice);
    const progress: unknown[] = [];
    const result = (await client.callTool({ name: "gate", arguments: {} }, undefined, {
      onprogress: (p) => {
        progress.push(p);
        upstream.open(); // the tool only finishes after the client saw its progress
      },
    })) as CallToolResult;
    assert.deepEqual(progress, [{ progress: 1, total: 2, message: "started" }]);
    assert.equal(result.isError, true);
    assert.match(
      (result.content[0] as { text: string }).text,
      /^\[RESULT WITHHELD\] The result of 'gate' was withheld by policy agents\/kestra: `!result.isError` holds\. .*Gate results are for operators\.$/,
    );
    assert.equal(
      await proxy.metric("mcp_warden_results_withheld_total", {
        policy: "agents/kestra",
        tool: "gate",
        reason: "condition",
      }),
      1,
    );
  });
});

for (const answers of ["json", "sse"] as const) {
  describe(
    `result rules: maxBytes below the inspection bound, ${answers.toUpperCase()} answers`,
    { timeout: 60_000 },
    () => {
      let harness: Harness;
      before(async () => {
        harness = await startHarness({
          upstream: { answers },
          policy: mcpPolicy(`
default: allow
tools:
  - name: list_executions
    results: {maxBytes: 16384}
`),
        });
      });
      after(() => harness?.close());

      it("answers a call whose answer passes maxBytes with the refusal, without reading the answer whole", async () => {
        const auth = { authorization: `Bearer ${KEYS.alice}` };
        const session = await rawInitialize(harness.sidecar.url, auth, "2025-11-25");
        const headers = { ...auth, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
        const big = await rawPost(
          harness.sidecar.url,
          toolCall(1, "list_executions", { namespace: "company.team", count: 200 }),
          headers,
        );
        assert.equal(big.status, 200);
        const [message, ...rest] = messagesOf(big);
        assert.equal(rest.length, 0);
        assert.equal(message?.id, 1);
        const result = message?.result as CallToolResult;
        assert.equal(result.isError, true);
        assert.equal(
          (result.content[0] as { text: string }).text,
          "[RESULT WITHHELD] The result of 'list_executions' was withheld by policy agents/kestra: it is more than the 16384 bytes the policy allows. " +
            "The tool did run; do not call it again to read this result. Ask an operator if you need it.",
        );
        const small = messagesOf(
          await rawPost(
            harness.sidecar.url,
            toolCall(2, "list_executions", { namespace: "company.team", count: 2 }),
            headers,
          ),
        );
        assert.equal(
          (small[0]?.result as { structuredContent: { results: unknown[] } }).structuredContent.results.length,
          2,
          "a result within the bound passes",
        );
        assert.equal(
          await harness.metric("mcp_warden_results_withheld_total", {
            policy: "agents/kestra",
            tool: "list_executions",
            reason: "too_large",
          }),
          1,
        );
        const audit = harness.logs.auditLines.filter((l) => l.msg === "tool call");
        assert.deepEqual(
          audit.map((l) => [l.requestId, l.upstreamOutcome, (l.results as { action: string } | undefined)?.action]),
          [
            [1, "ok", "withheld"],
            [2, "ok", "passed"],
          ],
        );
      });
    },
  );
}

describe("result rules in Audit mode", { timeout: 60_000 }, () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      policy: mcpPolicy(`
mode: Audit
default: allow
tools:
  - name: manage_kv_store
    results: {withholdIf: ["true"]}
`),
    });
  });
  after(() => harness?.close());

  it("relays the result untouched, audits what would have happened and counts nothing", async () => {
    const client = await harness.client(KEYS.alice);
    const result = (await client.callTool({
      name: "manage_kv_store",
      arguments: { namespace: "company.team", action: "get", key: "k" },
    })) as CallToolResult;
    assert.deepEqual(result.structuredContent, {
      namespace: "company.team",
      key: "k",
      action: "get",
      value: "stored-value",
    });
    const audit = harness.logs.auditLines.find((l) => l.msg === "tool call");
    assert.deepEqual(audit?.results, {
      action: "withheld",
      reason: "condition",
      detectors: {},
      rule: "/spec/tools/0/results/withholdIf/0",
    });
    assert.equal(
      await harness.metric("mcp_warden_results_withheld_total", {
        policy: "agents/kestra",
        tool: "manage_kv_store",
        reason: "condition",
      }),
      undefined,
    );
  });
});
