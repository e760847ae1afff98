// A second real Kestra MCP server behind the sidecar: PyPI's iflow-mcp-mcp-server-python 0.1.2, an
// older revision of kestra-io/mcp-server-python on the SDK's FastMCP (FastMCP 2's CLI serves it), in
// front of the fake Kestra REST API. Its tools/list is compared with the 39-tool reference, difference
// by difference, and the seed policies (`policy init --server kestra`, the PolicyLayer examples) are
// enforced on it: judged by what reached Kestra's REST API, allowed calls get there and nothing else.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { Client as SdkClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { outcomeOf, textOf } from "../support/mcp-clients.ts";
import { runPeer } from "../support/processes.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { KESTRA_API_TOKEN, startKestraPypi, type KestraPypi, type KestraRequest } from "../upstreams/kestra-pypi.ts";

const REPO = join(import.meta.dirname, "..", "..");
const REFERENCE = (
  JSON.parse(readFileSync(join(REPO, "test", "fixtures", "kestra-tools-list.json"), "utf8")) as { tools: Tool[] }
).tools;

/** Tools of the 39 this revision does not have: the whole logs group, and four later additions. */
const MISSING = [
  "delete_execution_logs",
  "delete_flow_logs",
  "download_execution_logs",
  "find_flow",
  "follow_execution_logs",
  "generate_app",
  "generate_dashboard",
  "generate_test",
  "get_execution_logs",
  "search_logs",
];
/** Arguments that differ from the reference's (missing −, extra +). */
const ARGUMENT_DIFFERENCES: Record<string, { missing: string[]; extra: string[] }> = {
  generate_flow: { missing: ["auto_create", "namespace", "provider_id"], extra: [] },
  list_executions: { missing: ["end_date", "start_date", "time_range"], extra: ["minutes"] },
  manage_group: { missing: [], extra: ["description"] },
};

/** The only tools with an output schema: those whose function returns a list, a string or an
 * annotated dict, which the SDK's FastMCP wraps as {"result": …}; the others return a plain dict. */
const WITH_OUTPUT_SCHEMA = [
  "generate_flow",
  "list_executions",
  "list_flows_with_triggers",
  "list_namespace_dependencies",
  "manage_kv_store",
  "namespace_directory_action",
  "namespace_file_action",
  "resume_execution",
];

const FLOW = { namespace: "company.team", flow_id: "nightly-etl" };
const names = (schema: Tool["inputSchema"]) => Object.keys(schema.properties ?? {}).sort();
const route = (r: KestraRequest) => `${r.method} ${r.path}`;
/** "allowed", or the sidecar's decision and its reason. */
const decisionOf = (result: CallToolResult): string => {
  const decision = result._meta?.["mcpwarden.io/decision"] as { decision: string; reason: string } | undefined;
  return decision ? `${decision.decision} (${decision.reason})` : "allowed";
};

async function policyInit(level: string): Promise<string> {
  const result = await runPeer(process.execPath, [
    join(REPO, "cli", "mcp-warden.ts"),
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

/** Kestra in its initial state, with an empty record of requests; returns the ids of the executions
 * it starts with in company.team/nightly-etl, by state, read from its API. */
async function seeded(kestra: KestraPypi): Promise<Record<string, string>> {
  await kestra.reset();
  const page = (await (
    await fetch(`${kestra.kestraApi}/executions/search?namespace=company.team&flowId=nightly-etl&size=100`)
  ).json()) as { results: { id: string; state: { current: string } }[] };
  await kestra.reset();
  return Object.fromEntries(page.results.map((e) => [e.state.current, e.id]));
}

describe("PyPI's Kestra server (iflow-mcp-mcp-server-python 0.1.2) behind the sidecar", { timeout: 240_000 }, () => {
  let kestra: KestraPypi;
  before(async () => {
    kestra = await startKestraPypi();
  });
  after(async () => {
    await kestra?.stop();
  });

  it("lists 29 of the reference's 39 tools, three with other arguments, eight with an output schema", async () => {
    const client = new SdkClient({ name: "direct", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(kestra.url)));
    const { tools } = await client.listTools();
    await client.close();
    assert.equal(tools.length, 29);
    assert.deepEqual(
      tools.map((t) => t.name).sort(),
      REFERENCE.map((t) => t.name)
        .filter((n) => !MISSING.includes(n))
        .sort(),
    );
    const differences: Record<string, { missing: string[]; extra: string[] }> = {};
    for (const tool of tools) {
      const reference = REFERENCE.find((t) => t.name === tool.name) as Tool;
      const [mine, theirs] = [names(tool.inputSchema), names(reference.inputSchema)];
      if (mine.join() !== theirs.join())
        differences[tool.name] = {
          missing: theirs.filter((n) => !mine.includes(n)),
          extra: mine.filter((n) => !theirs.includes(n)),
        };
      assert.deepEqual(
        [...(tool.inputSchema.required ?? [])].sort(),
        [...(reference.inputSchema.required ?? [])].sort(),
        `${tool.name}: required arguments`,
      );
    }
    assert.deepEqual(differences, ARGUMENT_DIFFERENCES);
    assert.deepEqual(
      tools
        .filter((t) => t.outputSchema)
        .map((t) => t.name)
        .sort(),
      WITH_OUTPUT_SCHEMA,
      "every tool of the reference declares one",
    );
    for (const name of WITH_OUTPUT_SCHEMA)
      assert.deepEqual(
        Object.keys(tools.find((t) => t.name === name)?.outputSchema?.properties ?? {}),
        ["result"],
        `${name}: its answer wrapped in {result}`,
      );
  });

  describe("the balanced policy of `policy init --server kestra`", () => {
    let proxy: ProxyHarness;
    let agent: Client;
    before(async () => {
      proxy = await startProxy(kestra.url, { policy: await policyInit("balanced") });
      agent = await proxy.client(KEYS.alice);
    });
    after(async () => {
      await proxy?.close();
    });

    it("lets the allowed calls reach Kestra's API, and nothing else", async () => {
      const ids = await seeded(kestra);
      const call = async (name: string, args: Record<string, unknown>) =>
        (await agent.callTool({ name, arguments: args })) as CallToolResult;
      const decided: [string, string][] = [];
      const record = async (label: string, name: string, args: Record<string, unknown>) => {
        const result = await call(name, args);
        decided.push([label, decisionOf(result)]);
        return result;
      };
      const namespaces = await record("list_namespaces", "list_namespaces", {});
      assert.deepEqual(
        namespaces.content.map((c) => (c as { text: string }).text),
        ["company (created)", "company.team (created)", "company.finance (created)", "dev.sandbox (created)"],
        "this revision's answer: a list, one text block per namespace",
      );
      await record("kv get", "manage_kv_store", { namespace: "company.team", action: "get", key: "db_password" });
      await record("kv delete", "manage_kv_store", { namespace: "company.team", action: "delete", key: "db_password" });
      await record("restart without id", "restart_execution", FLOW);
      await record("restart the failed one", "restart_execution", { ...FLOW, execution_id: ids.FAILED });
      await record("resume by id", "resume_execution", { execution_ids: [ids.PAUSED] });
      await record("force run", "force_run_execution", { execution_id: ids.PAUSED });
      await record("generate_flow auto_create", "generate_flow", {
        user_prompt: "Copy orders hourly",
        auto_create: true,
      });
      await record("manage_flow delete", "manage_flow", { ...FLOW, action: "delete" });
      await record("delete_flow_logs (not a tool of this server)", "delete_flow_logs", FLOW);
      for (let i = 1; i <= 11; i++) await record(`execute_flow ${i}`, "execute_flow", FLOW);
      assert.deepEqual(decided, [
        ["list_namespaces", "allowed"],
        ["kv get", "allowed"],
        ["kv delete", "denied (require_failed)"],
        ["restart without id", "denied (invalid_arguments)"],
        ["restart the failed one", "allowed"],
        ["resume by id", "allowed"],
        ["force run", "denied (tool_denied)"],
        ["generate_flow auto_create", "denied (invalid_arguments)"],
        ["manage_flow delete", "denied (require_failed)"],
        ["delete_flow_logs (not a tool of this server)", "denied (tool_denied)"],
        ...Array.from({ length: 10 }, (_, i): [string, string] => [`execute_flow ${i + 1}`, "allowed"]),
        ["execute_flow 11", "rate_limited (limit_exceeded)"],
      ]);
      const requests = await kestra.requests();
      assert.deepEqual(
        requests.map(route),
        [
          "GET /namespaces/search",
          `GET /namespaces/company.team/kv/db_password`,
          `GET /executions/${ids.FAILED}`,
          `POST /executions/${ids.FAILED}/restart`,
          "POST /executions/resume/by-ids",
          ...Array<string>(10).fill("POST /executions/company.team/nightly-etl"),
        ],
        "exactly the allowed calls reached Kestra",
      );
      assert.ok(
        requests.every((r) => r.authorization === `Bearer ${KESTRA_API_TOKEN}`),
        "Kestra sees the server's token, never the agent's",
      );
      const executions = (await (
        await fetch(`${kestra.kestraApi}/executions/search?namespace=company.team&flowId=nightly-etl&size=100`)
      ).json()) as { total: number };
      assert.equal(executions.total, 3 + 10, "ten executions started, the refused eleventh none");
    });
  });

  for (const seed of ["resume", "restart"] as const) {
    it(`examples/kestra-${seed}.policylayer.json: ${seed}_execution at most 10 a minute, everything else denied`, async () => {
      const ids = await seeded(kestra);
      const proxy = await startProxy(kestra.url, {
        policy: readFileSync(join(REPO, "examples", `kestra-${seed}.policylayer.json`), "utf8"),
      });
      try {
        const agent = await proxy.client(KEYS.bob);
        const args = seed === "resume" ? { execution_ids: [ids.PAUSED] } : { ...FLOW, execution_id: ids.FAILED };
        const results: CallToolResult[] = [];
        for (let i = 0; i < 11; i++)
          results.push((await agent.callTool({ name: `${seed}_execution`, arguments: args })) as CallToolResult);
        const other = (await agent.callTool({ name: "list_namespaces", arguments: {} })) as CallToolResult;
        // The first call acts; the nine after it reach the server, which finds nothing left to act on
        // (isError results, counted: they reached the tool); the eleventh is refused.
        assert.deepEqual(
          results.map(outcomeOf),
          ["allowed", ...Array<string>(9).fill("tool_error"), "rate_limited"],
          results.map(textOf).join("\n"),
        );
        assert.equal(outcomeOf(other), "denied");
        const requests = (await kestra.requests()).map(route);
        const acting = seed === "resume" ? "POST /executions/resume/by-ids" : `POST /executions/${ids.FAILED}/restart`;
        assert.equal(
          requests.filter((r) => r === acting).length,
          seed === "resume" ? 10 : 1,
          `${acting} reached Kestra`,
        );
        if (seed === "restart")
          assert.equal(
            requests.filter((r) => r === `GET /executions/${ids.FAILED}`).length,
            10,
            "ten restarts reached the server",
          );
        assert.ok(!requests.includes("GET /namespaces/search"), "the denied call never reached Kestra");
        assert.equal(requests.length, seed === "resume" ? 10 : 11, requests.join("\n"));
      } finally {
        await proxy.close();
      }
    });
  }
});
