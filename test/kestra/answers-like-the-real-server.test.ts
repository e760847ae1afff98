// The Kestra test server's answers against the real server's code: the same calls, on the same Kestra
// data, to the test server (test/python/kestra) and to PyPI's build of kestra-io/mcp-server-python
// (iflow-mcp-mcp-server-python 0.1.2) calling the fake Kestra REST API over that data. The tools
// compared are those whose code is the same in that build and in today's server, so the answers
// must be equal; a change of the test server's answer shape fails this test.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { startKestraFastMcp, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";
import { startKestraPypi, type KestraPypi } from "../upstreams/kestra-pypi.ts";

const FLOW = { namespace: "company.team", flow_id: "nightly-etl" };
/** The seeded executions of nightly-etl (fake_kestra.py derives their ids from their seeds). */
const ids = { SUCCESS: "", FAILED: "", PAUSED: "" };

/** What a tool answered, as JSON: the SDK's FastMCP writes a dict as indented JSON text and a list as
 * one text block per item; FastMCP 3 writes compact JSON. */
function answerOf(result: CallToolResult): unknown {
  assert.notEqual(result.isError, true, JSON.stringify(result.content));
  const texts = result.content.map((c) => (c as { text: string }).text);
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  };
  return texts.length === 1 ? parse(texts[0] as string) : texts.map(parse);
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: "comparison", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe("the Kestra test server answers as the real server's code does", { timeout: 180_000 }, () => {
  let testServer: KestraFastMcp;
  let real: KestraPypi;
  let testClient: Client;
  let realClient: Client;
  before(async () => {
    [testServer, real] = await Promise.all([startKestraFastMcp(), startKestraPypi()]);
    [testClient, realClient] = await Promise.all([connect(testServer.url), connect(real.url)]);
    const listed = answerOf(
      (await testClient.callTool({ name: "list_executions", arguments: FLOW })) as CallToolResult,
    ) as { results: { id: string; state: { current: string } }[] };
    for (const e of listed.results) if (e.state.current in ids) ids[e.state.current as keyof typeof ids] = e.id;
  });
  after(async () => {
    await Promise.all([testClient?.close(), realClient?.close()]);
    await Promise.all([testServer?.stop(), real?.stop()]);
  });

  /** Both servers from Kestra's initial state, the same calls in order; the answers of each. */
  const both = async (calls: [string, Record<string, unknown>][]): Promise<[unknown[], unknown[]]> => {
    await Promise.all([testServer.reset(), real.reset()]);
    const run = async (client: Client) => {
      const answers = [];
      for (const [name, args] of calls)
        answers.push(answerOf((await client.callTool({ name, arguments: args })) as CallToolResult));
      return answers;
    };
    return [await run(testClient), await run(realClient)];
  };

  it("list_namespaces: one line per namespace, '<id> (created)'", async () => {
    const [[mine], [theirs]] = await both([["list_namespaces", {}]]);
    assert.deepEqual(
      (mine as { results: string[] }).results,
      theirs,
      "the same lines (today's server wraps them in {results})",
    );
  });

  it("list_flows_in_namespace: Kestra's flow objects", async () => {
    const [[mine], [theirs]] = await both([["list_flows_in_namespace", { namespace: "company.team" }]]);
    assert.deepEqual(
      (mine as { results: unknown[] }).results,
      theirs,
      "the same flows (today's server wraps them in {results})",
    );
  });

  for (const [what, calls] of [
    [
      "manage_kv_store get: Kestra's typed value",
      [["manage_kv_store", { namespace: "company.team", action: "get", key: "db_password" }]],
    ],
    [
      "execute_flow, then manage_executions get: the execution Kestra created",
      [
        ["execute_flow", { ...FLOW, inputs: { date: "2026-05-04" } }],
        ["manage_executions", { action: "get", execution_id: "" }],
      ],
    ],
    ["restart_execution by id: the restarted execution", [["restart_execution", { ...FLOW, execution_id: "FAILED" }]]],
    ["restart_execution without id: the latest failed one, restarted", [["restart_execution", FLOW]]],
    ["resume_execution by ids: Kestra's bulk answer", [["resume_execution", { execution_ids: ["PAUSED"] }]]],
    [
      "resume_execution without ids: the latest paused one, mapped to Kestra's empty answer",
      [["resume_execution", FLOW]],
    ],
    [
      "manage_executions kill of a finished execution",
      [["manage_executions", { action: "kill", execution_id: "SUCCESS" }]],
    ],
  ] as [string, [string, Record<string, unknown>][]][]) {
    it(what, async () => {
      // Ids of seeded executions are named by state; the execution just started is read back by its id.
      const named = (args: Record<string, unknown>) =>
        JSON.parse(
          JSON.stringify(args).replace(/"(FAILED|PAUSED|SUCCESS)"/g, (_, state: keyof typeof ids) =>
            JSON.stringify(ids[state]),
          ),
        ) as Record<string, unknown>;
      const resolved = calls.map(([name, args]): [string, Record<string, unknown>] => [name, named(args)]);
      if (resolved.length === 2) {
        await Promise.all([testServer.reset(), real.reset()]);
        const started = answerOf(
          (await testClient.callTool({ name: resolved[0]![0], arguments: resolved[0]![1] })) as CallToolResult,
        ) as { id: string };
        (resolved[1]![1] as { execution_id: string }).execution_id = started.id;
      }
      const [mine, theirs] = await both(resolved);
      assert.deepEqual(mine, theirs);
    });
  }
});
