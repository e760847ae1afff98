// The policies `mcp-warden policy init --server kestra` generates, enforced by the real sidecar in front
// of the FastMCP Kestra server, with the TypeScript SDK and the Python `mcp` clients: every tool and
// every action of the multi-action tools is decided as the level promises (ADR 0006), calls the policy
// allows reach FastMCP and come back with FastMCP's answer, and nothing else reaches it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { LEVELS } from "../../policy/catalog/recommend.ts";
import { kestraCalls, PROMISED, type KestraCall } from "../../policy/catalog/testing.ts";
import type { DecisionKind } from "../../policy/decision.ts";
import { runPeer } from "../support/processes.ts";
import { runPythonClient } from "../support/python-client.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { startKestraFastMcp, type FastMcpCall, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";
import { realisticArguments, seededExecutions } from "./kestra-arguments.ts";

const CAROL = "carol-secret-key-0003";
const GRANTS = [grantLine("alice", KEYS.alice), grantLine("bob", KEYS.bob), grantLine("carol", CAROL)].join("\n");
const CLI = join(import.meta.dirname, "..", "..", "cli", "mcp-warden.ts");

async function policyInit(level: string): Promise<string> {
  const result = await runPeer(process.execPath, [
    CLI,
    "policy",
    "init",
    "--server",
    "kestra",
    "--level",
    level,
    "--namespace",
    "agents",
  ]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

type Result = Pick<CallToolResult, "content" | "structuredContent" | "isError" | "_meta">;

function decisionOf(result: Result): DecisionKind {
  return (result._meta?.["mcpwarden.io/decision"] as { decision?: DecisionKind } | undefined)?.decision ?? "allowed";
}

/** Checks each call's decision against the level's promise, and that exactly the allowed calls reached
 * FastMCP, in order, and were answered with what FastMCP returned. */
function checkAgainstFastMcp(
  level: (typeof LEVELS)[number],
  calls: KestraCall[],
  results: Result[],
  reached: FastMcpCall[],
): void {
  const allowed: { call: KestraCall; result: Result }[] = [];
  for (const [i, call] of calls.entries()) {
    const result = results[i] as Result;
    const decision = decisionOf(result);
    assert.equal(
      decision,
      PROMISED[level][call.kind],
      `${call.tool} ${JSON.stringify(call.args)} (${call.kind}): ${JSON.stringify(result.content)}`,
    );
    if (decision === "allowed") {
      allowed.push({ call, result });
    } else {
      const prefix = {
        denied: "[POLICY DENIED] ",
        rate_limited: "[RATE LIMITED] ",
        approval_required: "[APPROVAL REQUIRED] ",
      }[decision];
      assert.ok(
        (result.content[0] as { text: string }).text.startsWith(prefix),
        `${call.tool}: ${JSON.stringify(result.content)}`,
      );
    }
  }
  assert.deepEqual(
    reached.map((r) => [r.tool, r.arguments]),
    allowed.map((a) => [a.call.tool, a.call.args]),
    "only the allowed calls reached FastMCP",
  );
  for (const [i, { call, result }] of allowed.entries()) {
    const upstream = reached[i] as FastMcpCall;
    assert.equal(upstream.error, undefined, `${call.tool} failed in FastMCP: ${upstream.error}`);
    assert.equal(result.isError, false, call.tool);
    assert.deepEqual(result.content, upstream.result?.content, `${call.tool}: FastMCP's content`);
    assert.deepEqual(
      result.structuredContent ?? null,
      upstream.result?.structuredContent ?? null,
      `${call.tool}: FastMCP's structuredContent`,
    );
    assert.equal(upstream.authorization, null, "the caller's token never reaches FastMCP");
  }
}

describe("policy init levels enforced by the sidecar in front of FastMCP", { timeout: 300_000 }, () => {
  let kestra: KestraFastMcp;
  let calls: KestraCall[];
  before(async () => {
    kestra = await startKestraFastMcp();
    calls = kestraCalls(realisticArguments(await seededExecutions(kestra.url)));
  });
  after(async () => {
    await kestra?.stop();
  });

  for (const level of LEVELS) {
    describe(`--level ${level}`, () => {
      let proxy: ProxyHarness;
      let alice: Client;
      before(async () => {
        proxy = await startProxy(kestra.url, { policy: await policyInit(level), apiKeys: GRANTS });
        alice = await proxy.client(KEYS.alice);
      });
      after(async () => {
        await proxy?.close();
      });

      it("TypeScript SDK client: every tool and action is decided as promised; allowed calls return FastMCP's answer", async () => {
        await kestra.reset();
        const results: Result[] = [];
        for (const call of calls)
          results.push((await alice.callTool({ name: call.tool, arguments: call.args })) as Result);
        const reached = await kestra.calls();
        checkAgainstFastMcp(level, calls, results, reached);
        const session = (alice.transport as StreamableHTTPClientTransport).sessionId;
        assert.ok(
          reached.length > 20 && reached.every((r) => r.session === session),
          "all in the client's one session",
        );
      });

      it("Python mcp client: the same decisions, the same answers from FastMCP", async () => {
        await kestra.reset();
        const lines = await runPythonClient(
          proxy.sidecar.url,
          calls.map((c) => ["tools/call", { name: c.tool, arguments: c.args }] as const),
          KEYS.bob,
        );
        assert.equal(lines.length, calls.length + 1);
        const results = lines.slice(1).map((line, i) => {
          assert.ok("ok" in line, `${calls[i]?.tool}: ${JSON.stringify(line)}`);
          return line.ok as Result;
        });
        checkAgainstFastMcp(level, calls, results, await kestra.calls());
      });

      if (level === "balanced") {
        it("caps execute tools at 10 calls per minute per grant; FastMCP sees only those 10", async () => {
          await kestra.reset();
          const carol = await proxy.client(CAROL); // a grant the other tests did not spend
          const results: Result[] = [];
          for (let i = 0; i < 11; i++)
            results.push(
              (await carol.callTool({
                name: "execute_flow",
                arguments: { namespace: "company.team", flow_id: "billing-sync" },
              })) as Result,
            );
          assert.deepEqual(results.map(decisionOf), [...Array<DecisionKind>(10).fill("allowed"), "rate_limited"]);
          const limited = results[10] as Result;
          assert.match((limited.content[0] as { text: string }).text, /^\[RATE LIMITED\] .*retry/i);
          const retryAfter = (limited._meta?.["mcpwarden.io/decision"] as { retryAfterSeconds: number })
            .retryAfterSeconds;
          assert.ok(retryAfter > 0 && retryAfter <= 60, `retry after ${retryAfter} s`);
          assert.equal((await kestra.calls()).filter((c) => c.tool === "execute_flow").length, 10);
          const other = (await alice.callTool({
            name: "execute_flow",
            arguments: { namespace: "company.team", flow_id: "billing-sync" },
          })) as Result;
          assert.equal(decisionOf(other), "allowed", "another grant has its own budget");
        });
      }
    });
  }
});
