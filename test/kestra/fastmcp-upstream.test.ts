// The FastMCP Kestra server on its own, with no sidecar: started as the injector's Kestra profile
// starts the real one, it must look like the real one to a client (the fixture's tool schemas, SSE
// answers in sessions, text + structuredContent results, Kestra errors as isError results), or the
// tests that put the sidecar in front of it would prove nothing about Kestra.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { messagesOf, rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";
import { startKestraFastMcp, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";

const fixture = (
  JSON.parse(readFileSync(new URL("../fixtures/kestra-tools-list.json", import.meta.url), "utf8")) as { tools: Tool[] }
).tools;

/** Where this FastMCP release's schema differs from the fixture's: it keeps the title Pydantic gives an
 * Any-typed field with a default. Listed so that any other difference fails. */
const KNOWN_DIFFERENCES: Record<string, (schema: Tool["inputSchema"]) => void> = {
  manage_kv_store: (schema) => {
    const value = schema.properties?.value as Record<string, unknown>;
    assert.equal(value.title, "Value");
    delete value.title;
  },
};

const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;

describe("the FastMCP Kestra server", { timeout: 120_000 }, () => {
  let kestra: KestraFastMcp;
  let client: Client;
  before(async () => {
    kestra = await startKestraFastMcp();
    client = new Client({ name: "direct", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(kestra.url)));
  });
  after(async () => {
    await client?.close();
    await kestra?.stop();
  });

  it("runs with the injector's Kestra command line", () => {
    assert.deepEqual(kestra.command, [
      "fastmcp",
      "run",
      "src/server.py:mcp",
      "--transport",
      "http",
      "--host",
      "127.0.0.1",
      "--port",
      String(kestra.port),
    ]);
  });

  it("lists the 39 Kestra tools with the schemas FastMCP derives from their signatures, equal to the fixture's", async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), fixture.map((t) => t.name).sort());
    for (const expected of fixture) {
      const tool = structuredClone(tools.find((t) => t.name === expected.name) as Tool);
      KNOWN_DIFFERENCES[tool.name]?.(tool.inputSchema);
      assert.equal(tool.description, expected.description, tool.name);
      assert.deepEqual(tool.inputSchema, expected.inputSchema, `${tool.name} inputSchema`);
      assert.deepEqual(tool.outputSchema, expected.outputSchema, `${tool.name} outputSchema`);
    }
  });

  it("answers as SSE, in sessions, as FastMCP does by default", async () => {
    const session = await rawInitialize(kestra.url, {}, "2025-11-25");
    const answer = await rawPost(kestra.url, toolCall(1, "list_namespaces"), {
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-11-25",
    });
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers["content-type"]), /^text\/event-stream/);
    assert.deepEqual((messagesOf(answer)[0]?.result as CallToolResult).structuredContent, {
      results: ["company (created)", "company.team (created)", "company.finance (created)", "dev.sandbox (created)"],
    });
    const sessionless = await rawPost(kestra.url, toolCall(2, "list_namespaces"), {
      "mcp-protocol-version": "2025-11-25",
    });
    assert.equal(sessionless.status, 400, "a call outside a session is refused");
  });

  it("returns results as compact JSON text plus the same object as structuredContent", async () => {
    const result = (await client.callTool({
      name: "list_executions",
      arguments: { namespace: "company.team", count: 2 },
    })) as CallToolResult;
    assert.equal(result.isError, false);
    assert.equal(text(result), JSON.stringify(result.structuredContent));
    const page = result.structuredContent as { results: Record<string, unknown>[] };
    assert.deepEqual(
      page.results.map((e) => [e.flowId, (e.state as { current: string }).current]),
      [
        ["billing-sync", "QUEUED"],
        ["billing-sync", "RUNNING"],
      ],
    );
    assert.deepEqual(
      Object.keys(page.results[0] ?? {}),
      ["id", "namespace", "flowId", "state", "labels"],
      "the real server's slim execution: no task runs",
    );
  });

  it("returns Kestra and validation errors as isError results, not JSON-RPC errors", async () => {
    const missing = (await client.callTool({
      name: "manage_executions",
      arguments: { action: "get", execution_id: "does-not-exist" },
    })) as CallToolResult;
    assert.equal(missing.isError, true);
    assert.match(
      text(missing),
      /^Error calling tool 'manage_executions': Client error '404 Not Found' for url 'http:\/\/localhost:8080\/api\/v1\/executions\/does-not-exist'/,
    );
    const unknownArgument = (await client.callTool({
      name: "list_namespaces",
      arguments: { filter: "x" },
    })) as CallToolResult;
    assert.equal(unknownArgument.isError, true);
    assert.match(text(unknownArgument), /filter\n\s+Unexpected keyword argument/);
    const explicitNull = (await client.callTool({
      name: "namespace_file_action",
      arguments: { namespace: "company.team", path: null },
    })) as CallToolResult;
    assert.equal(explicitNull.isError, true);
    assert.match(text(explicitNull), /path\n\s+Input should be a valid string/);
  });

  it("keeps Kestra's state between calls: a flow run can be read back, a paused execution resumed once", async () => {
    const started = (await client.callTool({
      name: "execute_flow",
      arguments: { namespace: "company.team", flow_id: "nightly-etl", labels: { ticket: "OPS-12" } },
    })) as CallToolResult;
    const id = (started.structuredContent as { id: string }).id;
    const read = (await client.callTool({
      name: "manage_executions",
      arguments: { action: "get", execution_id: id },
    })) as CallToolResult;
    assert.deepEqual((read.structuredContent as { labels: unknown[] }).labels.at(-1), {
      key: "ticket",
      value: "OPS-12",
    });

    const resumed = (await client.callTool({
      name: "resume_execution",
      arguments: { namespace: "company.team", flow_id: "nightly-etl" },
    })) as CallToolResult;
    const [paused, ...others] = Object.entries(resumed.structuredContent as Record<string, unknown>);
    assert.deepEqual(
      [others.length, paused?.[1]],
      [0, {}],
      "the real server's answer: the resumed execution's id, mapped to Kestra's empty 204",
    );
    const state = (await client.callTool({
      name: "manage_executions",
      arguments: { action: "get", execution_id: paused?.[0] as string },
    })) as CallToolResult;
    assert.equal((state.structuredContent as { state: { current: string } }).state.current, "RUNNING");
    const again = (await client.callTool({
      name: "resume_execution",
      arguments: { namespace: "company.team", flow_id: "nightly-etl" },
    })) as CallToolResult;
    assert.equal(again.isError, true, "no paused execution is left");
    assert.match(text(again), /No paused executions found for company\.team\/nightly-etl\./);
  });

  it("returns Kestra's log stream of follow_execution_logs as one text, with no notifications, as the real server does", async () => {
    const notified: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void notified.push(n));
    const listed = (await client.callTool({
      name: "list_executions",
      arguments: { namespace: "dev.sandbox" },
    })) as CallToolResult;
    const id = (listed.structuredContent as { results: { id: string }[] }).results[0]?.id as string;
    const result = (await client.callTool({
      name: "follow_execution_logs",
      arguments: { execution_id: id },
    })) as CallToolResult;
    const events = (result.structuredContent as { result: string }).result.split("\n\n").filter(Boolean);
    assert.equal(events.length, 6);
    assert.match(events[1] ?? "", /^data:\{.*"level":"ERROR","message":"prepare: failed with exit code 1"/);
    assert.deepEqual(notified, []);
  });

  it("records each call that reached it with its session and result, for the tests behind the sidecar", async () => {
    await kestra.reset();
    await client.callTool({ name: "get_instance_info", arguments: {} });
    const [call, ...rest] = await kestra.calls();
    assert.equal(rest.length, 0);
    assert.equal(call?.tool, "get_instance_info");
    assert.equal(call?.session, client.transport && (client.transport as StreamableHTTPClientTransport).sessionId);
    assert.equal(call?.authorization, null);
    assert.equal((call?.result?.structuredContent as { edition: string }).edition, "EE");
  });
});
