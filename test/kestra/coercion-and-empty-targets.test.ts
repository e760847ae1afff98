// Type coercion and empty targets (ADRs 10 and 12), judged by what the Kestra server executed: the policy `mcp-warden policy init
// --server kestra --level balanced` writes, in the real sidecar in front of the FastMCP Kestra server.
// Flags pydantic would coerce to true (`"true"`, `1`, `"1"`, `"yes"`, ...) and targets that are
// missing, empty, null or mistyped (after which Kestra picks the latest execution itself) are refused,
// and the server's own record of the tool calls that reached it holds none of them, while the
// legitimate calls of the same tools ran. A control run with the former CEL rules shows that these
// attacks do act on FastMCP when nothing stops them.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { KESTRA_TOOLS, type CatalogTool } from "../../policy/catalog/kestra.ts";
import { bypassAttempts, type BypassAttempt } from "../../policy/catalog/testing.ts";
import { runPeer } from "../support/processes.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startKestraFastMcp, type FastMcpCall, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";
import { realisticArguments, seededExecutions, type SeededExecutions } from "./kestra-arguments.ts";
import { eventually } from "../support/eventually.ts";

const CLI = join(import.meta.dirname, "..", "..", "cli", "mcp-warden.ts");

interface Decision {
  decision: string;
  reason: string;
  rule: string;
}

const decisionOf = (result: CallToolResult): Decision | undefined =>
  result._meta?.["mcpwarden.io/decision"] as Decision | undefined;
const textOf = (result: CallToolResult): string => (result.content[0] as { text: string }).text;
const sameCall = (a: { tool: string; arguments: unknown }, b: { tool: string; args: unknown }) =>
  a.tool === b.tool && JSON.stringify(a.arguments) === JSON.stringify(b.args);

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

/** The flows of company.team as Kestra holds them, asked directly (not through the sidecar). */
async function flowIds(url: string): Promise<string[]> {
  const client = new Client({ name: "state-reader", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = (await client.callTool({
      name: "list_flows_in_namespace",
      arguments: { namespace: "company.team" },
    })) as CallToolResult;
    return JSON.stringify(result.structuredContent).match(/generated-flow-[a-z0-9]+/g) ?? [];
  } finally {
    await client.close();
  }
}

describe(
  "policy init --level balanced against coerced flags and empty targets, judged by FastMCP's record",
  { timeout: 300_000 },
  () => {
    let kestra: KestraFastMcp;
    let ids: SeededExecutions;
    let base: (tool: CatalogTool) => Record<string, unknown>;
    let attempts: BypassAttempt[];
    before(async () => {
      kestra = await startKestraFastMcp();
      ids = await seededExecutions(kestra.url);
      base = realisticArguments(ids);
      attempts = bypassAttempts(base);
    });
    after(async () => {
      await kestra?.stop();
    });

    describe("the generated policy in the sidecar", () => {
      let proxy: ProxyHarness;
      let agent: Client;
      before(async () => {
        proxy = await startProxy(kestra.url, { policy: await policyInit("balanced") });
        agent = await proxy.client(KEYS.alice);
      });
      after(async () => {
        await proxy?.close();
      });

      it("learns the tools' declared schemas from its own tools/list, before any agent lists them", async () => {
        await eventually(
          () => proxy.logs.logLines.some((l) => l.msg === "listed the upstream's tools" && l.tools === 39),
          "the sidecar's own listing",
        );
        assert.equal(await proxy.metric("mcp_warden_upstream_tools"), 39);
      });

      it("refuses every coercion and empty target; none reaches FastMCP, the legitimate calls do and run", async () => {
        await kestra.reset();
        assert.ok(attempts.length > 90, `${attempts.length} attempts`);
        const counts: Record<string, number> = {};
        for (const attempt of attempts) {
          // No tools/list first: the schemas are the ones the sidecar listed itself.
          const result = (await agent.callTool({ name: attempt.tool, arguments: attempt.args })) as CallToolResult;
          const { decision, reason } = decisionOf(result) ?? { decision: "allowed", reason: "" };
          assert.equal(
            decision,
            "denied",
            `${attempt.tool} with ${attempt.why} was not refused: ${JSON.stringify(result.content)}`,
          );
          assert.ok(textOf(result).startsWith("[POLICY DENIED] "), textOf(result));
          counts[reason] = (counts[reason] ?? 0) + 1;
          if (reason === "input_schema_mismatch")
            assert.match(
              textOf(result),
              /argument \S+ must be |argument \S+ is required/,
              `${attempt.tool} ${attempt.why}: names the argument`,
            );
        }
        assert.deepEqual(
          Object.keys(counts).sort(),
          ["input_schema_mismatch", "invalid_arguments", "tool_denied"],
          JSON.stringify(counts),
        );

        // What pydantic would have coerced is refused for its type, naming the argument and the type.
        for (const value of ["true", 1, "1", "yes"]) {
          const result = (await agent.callTool({
            name: "generate_flow",
            arguments: { user_prompt: "Copy orders hourly", auto_create: value },
          })) as CallToolResult;
          assert.deepEqual(decisionOf(result), {
            decision: "denied",
            reason: "input_schema_mismatch",
            rule: "/spec/arguments",
          });
          assert.match(
            textOf(result),
            new RegExp(`argument auto_create must be a boolean, not the ${typeof value} ${JSON.stringify(value)}`),
          );
        }
        assert.deepEqual(await kestra.calls(), [], "FastMCP executed none of the refused calls");

        // The same tools, called as they should be, run (force_run_execution stays denied in balanced).
        const legitimate = KESTRA_TOOLS.filter((t) => attempts.some((a) => a.tool === t.name)).map((tool) => ({
          tool: tool.name,
          args: { ...base(tool), ...(tool.actions ? { action: "get" } : {}) },
        }));
        const executed: typeof legitimate = [];
        for (const call of legitimate) {
          const result = (await agent.callTool({ name: call.tool, arguments: call.args })) as CallToolResult;
          if (call.tool === "force_run_execution") {
            assert.equal(decisionOf(result)?.reason, "tool_denied");
            continue;
          }
          assert.equal(
            decisionOf(result),
            undefined,
            `${call.tool} ${JSON.stringify(call.args)}: ${JSON.stringify(result.content)}`,
          );
          assert.notEqual(result.isError, true, `${call.tool}: ${JSON.stringify(result.content)}`);
          executed.push(call);
        }
        const reached: FastMcpCall[] = await kestra.calls();
        assert.deepEqual(
          reached.map((r) => [r.tool, r.arguments]),
          executed.map((c) => [c.tool, c.args]),
          "FastMCP ran exactly the legitimate calls",
        );
        assert.ok(
          reached.every((r) => r.error === undefined && r.result !== undefined),
          "and each ran to a result",
        );
        for (const attempt of attempts)
          assert.ok(!reached.some((r) => sameCall(r, attempt)), `${attempt.tool} ${attempt.why} never ran`);
        assert.ok(executed.length >= 12, `${executed.length} legitimate calls ran`);
        assert.deepEqual(await flowIds(kestra.url), [], "no generator created a flow");
      });
    });

    describe("control: the former CEL rules, which the same attacks beat", () => {
      let proxy: ProxyHarness;
      before(async () => {
        proxy = await startProxy(kestra.url, {
          policy: mcpPolicy(`
default: deny
tools:
  - {name: generate_flow, denyIf: ["has(args.auto_create) && args.auto_create == true"]}
  - {name: resume_execution, require: ["has(args.execution_ids)"]}
  - {name: replay_execution, require: ["has(args.ids)"]}
  - {name: restart_execution, require: ["has(args.execution_id)"]}
`),
        });
      });
      after(async () => {
        await proxy?.close();
      });

      it('lets "true", 1, [] and "" through, and FastMCP acts on them: flows created, the latest executions resumed, replayed, restarted', async () => {
        await kestra.reset();
        const agent = await proxy.client(KEYS.bob);
        const call = async (name: string, args: Record<string, unknown>) =>
          (await agent.callTool({ name, arguments: args })) as CallToolResult;
        for (const value of ["true", 1])
          assert.equal(
            decisionOf(
              await call("generate_flow", { user_prompt: `Copy orders ${String(value)}`, auto_create: value }),
            ),
            undefined,
          );
        const resumed = await call("resume_execution", {
          execution_ids: [],
          namespace: "company.team",
          flow_id: "nightly-etl",
        });
        const replayed = await call("replay_execution", { ids: [], namespace: "company.team", flow_id: "nightly-etl" });
        const restarted = await call("restart_execution", {
          namespace: "company.team",
          flow_id: "nightly-etl",
          execution_id: "",
        });
        const reached = await kestra.calls();
        assert.equal(reached.length, 5, "every attack reached FastMCP");
        assert.equal((await flowIds(kestra.url)).length, 2, 'auto_create "true" and 1 created flows');
        assert.equal(
          JSON.stringify(resumed.structuredContent).includes(ids.PAUSED),
          true,
          "[] resumed the latest paused execution",
        );
        assert.equal(
          JSON.stringify(replayed.structuredContent).includes(ids.PAUSED),
          true,
          "[] replayed the latest execution",
        );
        assert.equal(
          (restarted.structuredContent as { id: string }).id,
          ids.FAILED,
          '"" restarted the latest failed execution',
        );
      });
    });
  },
);
