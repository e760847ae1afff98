// Rate limits in front of Kestra's MCP servers when Kestra fails. The servers report every failure of
// Kestra's API (an error status, or Kestra unreachable) as a tool result with isError: true, not as
// an MCP error. A limit whose refundOn lists toolError gives such a call back, so an agent that met a
// Kestra outage can act once Kestra is back; a limit without it counts every attempt. Successful
// calls always count. Judged by the executions Kestra holds and the calls that reached the server:
// the FastMCP test server (Kestra failing inside it), and PyPI's build of the real server in front
// of the fake Kestra REST API answering 503 or stopped.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { outcomeOf, textOf } from "../support/mcp-clients.ts";
import { KEYS, startProxy, type LogLine, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startKestraFastMcp, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";
import { startKestraPypi, type KestraPypi } from "../upstreams/kestra-pypi.ts";

const POLICY = mcpPolicy(`
default: deny
tools:
  - name: execute_flow
    limits: [{counter: execute_flow_rate, window: minute, max: 2, refundOn: [upstreamError, toolError]}]
  - name: restart_execution
    limits: [{counter: restart_execution_rate, window: minute, max: 2, refundOn: [upstreamError]}]
  - name: list_executions
`);
const FLOW = { namespace: "company.team", flow_id: "nightly-etl" };
const FAILED_EXECUTION = { ...FLOW, execution_id: "" };

describe("refundOn behind the FastMCP Kestra server, when Kestra's API fails", { timeout: 180_000 }, () => {
  let kestra: KestraFastMcp;
  let proxy: ProxyHarness;
  let agent: Client;
  before(async () => {
    kestra = await startKestraFastMcp();
  });
  // Each case starts from Kestra's initial state and a new sidecar (whole budgets).
  beforeEach(async () => {
    await agent?.close();
    await proxy?.close();
    await kestra.reset();
    proxy = await startProxy(kestra.url, { policy: POLICY });
  });
  after(async () => {
    await agent?.close();
    await proxy?.close();
    await kestra?.stop();
  });

  const call = async (name: string, args: Record<string, unknown>) =>
    (await agent.callTool({ name, arguments: args })) as CallToolResult;
  /** Executions of nightly-etl Kestra holds beyond its initial three, i.e. started through the sidecar. */
  const started = async () => {
    const result = await call("list_executions", { namespace: "company.team", flow_id: "nightly-etl" });
    return (result.structuredContent as { results: unknown[] }).results.length - 3;
  };
  const auditOf = (tool: string) => proxy.logs.auditLines.filter((l: LogLine) => l.tool === tool);

  for (const fault of [{ status: 503 }, { status: 401 }, { unreachable: true }] as const) {
    it(`toolError in refundOn: execute_flow calls that failed on Kestra (${JSON.stringify(fault)}) do not use up the budget`, async () => {
      agent = await proxy.client(KEYS.alice);
      assert.equal(await started(), 0);
      await kestra.kestraFault(fault);
      const failed = [];
      for (let i = 0; i < 5; i++) failed.push(await call("execute_flow", FLOW));
      assert.deepEqual(
        failed.map(outcomeOf),
        Array(5).fill("tool_error"),
        "each failure is the server's isError result, relayed",
      );
      assert.match(
        textOf(failed[0]),
        "unreachable" in fault ? /All connection attempts failed/ : new RegExp(`${fault.status}`),
      );
      await kestra.kestraFault({});
      assert.equal(await started(), 0, "no execution started while Kestra failed");
      assert.deepEqual(
        auditOf("execute_flow")
          .slice(-5)
          .map((l) => [l.upstreamOutcome, l.refunded]),
        Array(5).fill(["tool_error", true]),
      );

      // Kestra is back: the budget of two is whole, and successful calls count.
      const ok = [await call("execute_flow", FLOW), await call("execute_flow", FLOW), await call("execute_flow", FLOW)];
      assert.deepEqual(ok.map(outcomeOf), ["allowed", "allowed", "rate_limited"]);
      assert.equal(await started(), 2, "exactly the two admitted calls started executions");
      const reached = (await kestra.calls()).filter((c) => c.tool === "execute_flow");
      assert.equal(reached.length, 5 + 2, "the refused third call never reached the server");
    });
  }

  it("without toolError in refundOn: restart_execution calls that failed on Kestra count, and the limit then refuses", async () => {
    agent = await proxy.client(KEYS.alice);
    await kestra.kestraFault({ status: 503 });
    const results = [
      await call("restart_execution", FAILED_EXECUTION),
      await call("restart_execution", FAILED_EXECUTION),
      await call("restart_execution", FAILED_EXECUTION),
    ];
    assert.deepEqual(results.map(outcomeOf), ["tool_error", "tool_error", "rate_limited"]);
    assert.deepEqual(
      auditOf("restart_execution").map((l) => [l.upstreamOutcome, l.refunded]),
      [
        ["tool_error", false],
        ["tool_error", false],
        ["not_forwarded", false],
      ],
    );
    await kestra.kestraFault({});
    assert.equal((await kestra.calls()).filter((c) => c.tool === "restart_execution").length, 2);
    const afterwards = await call("restart_execution", FAILED_EXECUTION);
    assert.equal(outcomeOf(afterwards), "rate_limited", "the failed attempts used the budget up");
    assert.equal(
      (await kestra.calls()).filter((c) => c.tool === "restart_execution").length,
      2,
      "and the refused call did not reach the server",
    );
  });

  it("toolError in refundOn: a successful call is never given back", async () => {
    agent = await proxy.client(KEYS.alice);
    assert.deepEqual(
      [await call("execute_flow", FLOW), await call("execute_flow", FLOW), await call("execute_flow", FLOW)].map(
        outcomeOf,
      ),
      ["allowed", "allowed", "rate_limited"],
    );
    assert.deepEqual(
      auditOf("execute_flow")
        .slice(-3)
        .map((l) => [l.upstreamOutcome, l.refunded]),
      [
        ["ok", false],
        ["ok", false],
        ["not_forwarded", false],
      ],
    );
    assert.equal(await started(), 2);
  });
});

describe(
  "refundOn behind PyPI's build of the real Kestra server, when the Kestra REST API fails",
  { timeout: 180_000 },
  () => {
    let kestra: KestraPypi;
    let proxy: ProxyHarness;
    let agent: Client;
    before(async () => {
      kestra = await startKestraPypi();
    });
    beforeEach(async () => {
      await agent?.close();
      await proxy?.close();
      await kestra.reset();
      proxy = await startProxy(kestra.url, { policy: POLICY });
      agent = await proxy.client(KEYS.alice);
    });
    after(async () => {
      await agent?.close();
      await proxy?.close();
      await kestra?.stop();
    });

    const call = async (name: string, args: Record<string, unknown>) =>
      (await agent.callTool({ name, arguments: args })) as CallToolResult;
    /** The requests to start a nightly-etl execution that reached Kestra's API (answered or refused). */
    const executeRequests = async () =>
      (await kestra.requests()).filter((r) => r.method === "POST" && r.path === "/executions/company.team/nightly-etl");
    /** Executions of nightly-etl Kestra holds beyond its initial three. */
    const startedExecutions = async () =>
      (
        (await (
          await fetch(`${kestra.kestraApi}/executions/search?namespace=company.team&flowId=nightly-etl&size=100`)
        ).json()) as { total: number }
      ).total - 3;
    const auditOf = (tool: string) => proxy.logs.auditLines.filter((l: LogLine) => l.tool === tool);

    it("toolError in refundOn: execute_flow calls Kestra answered 503 are given back; once Kestra answers, two run and the third is refused", async () => {
      await kestra.kestraFault({ status: 503 });
      const failed = [
        await call("execute_flow", FLOW),
        await call("execute_flow", FLOW),
        await call("execute_flow", FLOW),
      ];
      assert.deepEqual(failed.map(outcomeOf), ["tool_error", "tool_error", "tool_error"]);
      assert.match(textOf(failed[0]), /Server error '503 Service Unavailable'/);
      assert.equal((await executeRequests()).length, 3, "each reached Kestra, which refused it");
      await kestra.kestraFault({});
      const ok = [await call("execute_flow", FLOW), await call("execute_flow", FLOW), await call("execute_flow", FLOW)];
      assert.deepEqual(ok.map(outcomeOf), ["allowed", "allowed", "rate_limited"]);
      assert.equal((await executeRequests()).length, 3 + 2, "two more reached Kestra; the refused call did not");
      assert.equal(await startedExecutions(), 2, "Kestra started exactly two executions");
      assert.deepEqual(
        auditOf("execute_flow").map((l) => [l.upstreamOutcome, l.refunded]),
        [
          ["tool_error", true],
          ["tool_error", true],
          ["tool_error", true],
          ["ok", false],
          ["ok", false],
          ["not_forwarded", false],
        ],
      );
    });

    it("toolError in refundOn: execute_flow calls made while Kestra was unreachable are given back", async () => {
      await kestra.kestraReachable(false);
      try {
        const failed = [
          await call("execute_flow", FLOW),
          await call("execute_flow", FLOW),
          await call("execute_flow", FLOW),
        ];
        assert.deepEqual(failed.map(outcomeOf), ["tool_error", "tool_error", "tool_error"]);
        assert.match(textOf(failed[0]), /All connection attempts failed/);
      } finally {
        await kestra.kestraReachable(true);
      }
      const ok = [await call("execute_flow", FLOW), await call("execute_flow", FLOW), await call("execute_flow", FLOW)];
      assert.deepEqual(ok.map(outcomeOf), ["allowed", "allowed", "rate_limited"]);
      assert.equal((await executeRequests()).length, 2, "Kestra (started again) saw exactly the two admitted calls");
      assert.equal(await startedExecutions(), 2);
    });

    it("without toolError in refundOn: restart_execution calls Kestra answered 503 count, and the third is refused", async () => {
      await kestra.kestraFault({ status: 503 });
      const results = [
        await call("restart_execution", FAILED_EXECUTION),
        await call("restart_execution", FAILED_EXECUTION),
        await call("restart_execution", FAILED_EXECUTION),
      ];
      assert.deepEqual(results.map(outcomeOf), ["tool_error", "tool_error", "rate_limited"]);
      await kestra.kestraFault({});
      assert.equal(
        outcomeOf(await call("restart_execution", FAILED_EXECUTION)),
        "rate_limited",
        "the failed attempts used the budget up",
      );
      assert.equal((await kestra.requests()).length, 2, "only the two admitted calls reached Kestra");
    });
  },
);
