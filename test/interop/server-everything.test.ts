// Interop with @modelcontextprotocol/server-everything, the reference server that exercises every MCP
// feature: server-to-client requests (elicitation, sampling, roots), progress, logging, resource
// subscriptions, tasks; all through the sidecar, driven by the TypeScript SDK client.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  GetTaskResultSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startServerEverything, type ServerEverything } from "../upstreams/server-everything.ts";

const POLICY = mcpPolicy(`
default: allow
hide: [get-env]
tools:
  - name: gzip-file-as-resource
    action: deny
    reason: "Fetching URLs is not allowed for agents."
`);

type Text = { content: { type: string; text?: string }[] };

describe("TypeScript SDK client ↔ sidecar ↔ server-everything", { timeout: 120_000 }, () => {
  let everything: ServerEverything;
  let url: string;
  let proxy: ProxyHarness;
  let client: Client;
  before(async () => {
    everything = await startServerEverything();
    url = everything.url;
    proxy = await startProxy(url, { policy: POLICY });
    await proxy.catalogued();
    client = await proxy.client(KEYS.alice, {
      capabilities: { elicitation: { form: {} }, sampling: {}, roots: { listChanged: true } },
    });
    client.setRequestHandler(ElicitRequestSchema, () => ({
      action: "accept",
      content: {
        name: "Ada",
        check: true,
        email: "ada@example.com",
        integer: 42,
        number: 3.5,
        untitledSingleSelectEnum: "option1",
        titledSingleSelectEnum: "value1",
        legacyTitledEnum: "opt1",
        untitledMultipleSelectEnum: ["option1"],
        titledMultipleSelectEnum: ["value1"],
      },
    }));
    client.setRequestHandler(CreateMessageRequestSchema, () => ({
      role: "assistant",
      content: { type: "text", text: "sampled through the sidecar" },
      model: "test-model",
      stopReason: "endTurn",
    }));
    client.setRequestHandler(ListRootsRequestSchema, () => ({
      roots: [{ uri: "file:///workspace", name: "workspace" }],
    }));
  });
  after(async () => {
    await proxy?.close();
    await everything?.stop();
  });

  it("gives the same answers directly and through the sidecar for deterministic tools", async () => {
    // The same capabilities: server-everything registers some tools only for clients that have them.
    const direct = new Client(
      { name: "direct", version: "1" },
      { capabilities: { elicitation: { form: {} }, sampling: {}, roots: { listChanged: true } } },
    );
    await direct.connect(new StreamableHTTPClientTransport(new URL(url)));
    try {
      for (const [name, args] of [
        ["echo", { message: "hi" }],
        ["get-sum", { a: 2, b: 40 }],
        ["get-structured-content", { location: "New York" }],
        ["get-tiny-image", {}],
        ["get-annotated-message", { messageType: "success", includeImage: true }],
      ] as const) {
        assert.deepEqual(
          await client.callTool({ name, arguments: args }),
          await direct.callTool({ name, arguments: args }),
          name,
        );
      }
      const [a, b] = [await client.listTools(), await direct.listTools()];
      assert.deepEqual(
        a.tools,
        b.tools.filter((t) => t.name !== "get-env"),
      );
      assert.deepEqual(await client.listPrompts(), await direct.listPrompts());
      assert.deepEqual(
        await client.getPrompt({ name: "args-prompt", arguments: { city: "Paris" } }),
        await direct.getPrompt({ name: "args-prompt", arguments: { city: "Paris" } }),
      );
    } finally {
      await direct.close();
    }
  });

  it("relays elicitation requests and the client's answer", async () => {
    const result = (await client.callTool({ name: "trigger-elicitation-request", arguments: {} })) as Text;
    assert.match(JSON.stringify(result), /Ada/);
    assert.match(JSON.stringify(result), /accept/);
  });

  it("relays sampling requests and the client's completion", async () => {
    const result = (await client.callTool({
      name: "trigger-sampling-request",
      arguments: { prompt: "say hi", maxTokens: 10 },
    })) as Text;
    assert.match(JSON.stringify(result), /sampled through the sidecar/);
  });

  it("relays roots requests", async () => {
    const result = (await client.callTool({ name: "get-roots-list", arguments: {} })) as Text;
    assert.match(JSON.stringify(result), /file:\/\/\/workspace/);
  });

  it("streams progress notifications of a long-running operation", async () => {
    const progress: number[] = [];
    await client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 3 } },
      CallToolResultSchema,
      { onprogress: (p) => progress.push(p.progress) },
    );
    assert.deepEqual(progress, [1, 2, 3]);
  });

  it("relays log messages and resource update notifications on the session's streams", async () => {
    const logged = new Promise<void>((resolve) =>
      client.setNotificationHandler(LoggingMessageNotificationSchema, () => resolve()),
    );
    await client.setLoggingLevel("debug");
    await client.callTool({ name: "toggle-simulated-logging", arguments: {} });
    await logged;
    await client.callTool({ name: "toggle-simulated-logging", arguments: {} });
    const uri = "demo://resource/dynamic/text/1";
    const updated = new Promise<string>((resolve) =>
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri)),
    );
    await client.subscribeResource({ uri });
    await client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
    assert.equal(await updated, uri);
    await client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
    assert.match(JSON.stringify(await client.readResource({ uri })), /Resource 1/);
  });

  it("runs a task-augmented call to its result through the sidecar", async () => {
    const created = await client.request(
      {
        method: "tools/call",
        params: { name: "simulate-research-query", arguments: { topic: "policy engines" }, task: { ttl: 60_000 } },
      },
      CreateTaskResultSchema,
    );
    const { taskId } = created.task;
    let status = created.task.status;
    for (let i = 0; i < 100 && status === "working"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await client.request({ method: "tasks/get", params: { taskId } }, GetTaskResultSchema)).status;
    }
    assert.equal(status, "completed");
    const result = await client.request({ method: "tasks/result", params: { taskId } }, CallToolResultSchema);
    assert.match(JSON.stringify(result), /policy engines/);
  });

  it("enforces the policy on server-everything's tools, also on task-augmented calls", async () => {
    // Hidden: answered as server-everything answers a tool it does not have.
    const hidden = await client.callTool({ name: "get-env", arguments: {} });
    const missing = await client.callTool({ name: "no-such-tool", arguments: {} });
    assert.equal(hidden.isError, true);
    assert.deepEqual(hidden, JSON.parse(JSON.stringify(missing).replaceAll("no-such-tool", "get-env")));
    const denied = (await client.callTool({
      name: "gzip-file-as-resource",
      arguments: { name: "x", data: "data:text/plain,hi" },
    })) as Text & { isError?: boolean };
    assert.equal(denied.isError, true);
    assert.equal(denied.content[0]?.text, "[POLICY DENIED] Fetching URLs is not allowed for agents.");
    const deniedTask = await client.request(
      {
        method: "tools/call",
        params: {
          name: "gzip-file-as-resource",
          arguments: { name: "x", data: "data:text/plain,hi" },
          task: { ttl: 60_000 },
        },
      },
      CallToolResultSchema,
    );
    assert.equal(deniedTask.isError, true);
    assert.equal(
      await proxy.metric("mcp_warden_tool_calls_total", {
        tool: "gzip-file-as-resource",
        decision: "denied",
        reason: "tool_denied",
      }),
      2,
    );
  });
});
