// The sidecar in front of the FastMCP Kestra server, used by the TypeScript SDK and the Python `mcp`
// clients: FastMCP answers as SSE in sessions, and through the sidecar tools/list loses the hidden
// tools and nothing else, sessions stay the caller's, denials and rate limits never reach FastMCP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { runPythonClient } from "../support/python-client.ts";
import { messagesOf, rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startKestraFastMcp, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";

const POLICY = mcpPolicy(`
default: allow
hide: [force_run_execution, "delete_*"]
tools:
  - name: manage_kv_store
    denyIf: ["args.action in ['set', 'delete']"]
    reason: "Key-value writes go through the platform team's pipeline."
  - name: list_executions
    require: ["args.namespace.startsWith('company.')"]
    reason: "Agents read executions of company namespaces only."
  - name: resume_execution
    limits: [{counter: resume, window: minute, max: 2, scope: grant}]
`);
const HIDDEN = ["delete_execution_logs", "delete_flow_logs", "force_run_execution"];
const KV_DELETE = {
  name: "manage_kv_store",
  arguments: { namespace: "company.team", action: "delete", key: "db_password" },
};

const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;

describe("TypeScript SDK and Python mcp clients ↔ sidecar ↔ FastMCP Kestra server", { timeout: 180_000 }, () => {
  let kestra: KestraFastMcp;
  let proxy: ProxyHarness;
  let direct: Client;
  let directTools: Tool[];
  before(async () => {
    kestra = await startKestraFastMcp();
    proxy = await startProxy(kestra.url, { policy: POLICY });
    await proxy.catalogued();
    direct = new Client({ name: "direct", version: "1.0.0" });
    await direct.connect(new StreamableHTTPClientTransport(new URL(kestra.url)));
    directTools = (await direct.listTools()).tools;
  });
  after(async () => {
    await direct?.close();
    await proxy?.close();
    await kestra?.stop();
  });

  describe("tools/list on SSE", () => {
    it("relays FastMCP's SSE answer without the hidden tools, every other tool and field intact", async () => {
      const auth = { authorization: `Bearer ${KEYS.alice}` };
      const session = await rawInitialize(proxy.sidecar.url, auth, "2025-11-25");
      const answer = await rawPost(
        proxy.sidecar.url,
        { jsonrpc: "2.0", id: 7, method: "tools/list" },
        { ...auth, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" },
      );
      assert.match(String(answer.headers["content-type"]), /^text\/event-stream/, "still SSE");
      const [message, ...rest] = messagesOf(answer);
      assert.equal(rest.length, 0);
      assert.equal(message?.id, 7);
      const tools = (message?.result as { tools: Tool[] }).tools;
      assert.deepEqual(
        tools,
        directTools.filter((t) => !HIDDEN.includes(t.name)),
      );
      assert.equal(tools.length, 36);
      assert.ok(
        tools.every((t) => (t._meta as { fastmcp?: unknown } | undefined)?.fastmcp),
        "FastMCP's own _meta survives the filter",
      );
    });

    it("gives the TypeScript SDK client the same list", async () => {
      const client = await proxy.client(KEYS.alice);
      assert.deepEqual(
        (await client.listTools()).tools,
        directTools.filter((t) => !HIDDEN.includes(t.name)),
      );
    });

    it("gives the Python client the same list it gets from FastMCP, minus the hidden tools", async () => {
      const [directLines, proxiedLines] = await Promise.all([
        runPythonClient(kestra.url, [["tools/list", {}]]),
        runPythonClient(proxy.sidecar.url, [["tools/list", {}]], KEYS.bob),
      ]);
      const listed = (lines: typeof directLines) => (lines[1] as { ok: { tools: { name: string }[] } }).ok.tools;
      assert.deepEqual(
        listed(proxiedLines),
        listed(directLines).filter((t) => !HIDDEN.includes(t.name)),
      );
      assert.equal(listed(directLines).length, 39);
    });
  });

  describe("sessions", () => {
    it("keeps the client's FastMCP session across calls and never passes the caller's token on", async () => {
      await kestra.reset();
      const client = await proxy.client(KEYS.alice);
      await client.callTool({ name: "list_namespaces", arguments: {} });
      await client.callTool({ name: "find_flow", arguments: { query: "billing" } });
      const session = (client.transport as StreamableHTTPClientTransport).sessionId;
      assert.ok(session);
      assert.deepEqual(
        (await kestra.calls()).map((c) => [c.tool, c.session, c.authorization]),
        [
          ["list_namespaces", session, null],
          ["find_flow", session, null],
        ],
      );
    });

    it("refuses another caller's session, and a session the client ended", async () => {
      const client = await proxy.client(KEYS.alice);
      const transport = client.transport as StreamableHTTPClientTransport;
      const session = transport.sessionId as string;
      const headers = { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
      const foreign = await rawPost(proxy.sidecar.url, toolCall(1, "list_namespaces"), {
        ...headers,
        authorization: `Bearer ${KEYS.bob}`,
      });
      assert.equal(foreign.status, 404);
      await transport.terminateSession();
      const ended = await rawPost(proxy.sidecar.url, toolCall(2, "list_namespaces"), {
        ...headers,
        authorization: `Bearer ${KEYS.alice}`,
      });
      assert.equal(ended.status, 404, "FastMCP forgot the session and the sidecar relays that");
    });
  });

  describe("denials and rate limits", () => {
    it("answers a denied call itself, so FastMCP never sees it and the key survives", async () => {
      await kestra.reset();
      const client = await proxy.client(KEYS.alice);
      const denied = (await client.callTool(KV_DELETE)) as CallToolResult;
      assert.equal(denied.isError, true);
      assert.equal(textOf(denied), "[POLICY DENIED] Key-value writes go through the platform team's pipeline.");
      assert.deepEqual(denied._meta?.["mcpwarden.io/decision"], {
        decision: "denied",
        reason: "deny_if_matched",
        rule: "/spec/tools/0/denyIf/0",
      });
      const outside = (await client.callTool({
        name: "list_executions",
        arguments: { namespace: "dev.sandbox" },
      })) as CallToolResult;
      assert.equal(textOf(outside), "[POLICY DENIED] Agents read executions of company namespaces only.");
      const read = (await client.callTool({
        name: "manage_kv_store",
        arguments: { namespace: "company.team", action: "get", key: "db_password" },
      })) as CallToolResult;
      assert.deepEqual(read.structuredContent, { type: "STRING", value: "s3cr3t-Pa55word" });
      assert.deepEqual(
        (await kestra.calls()).map((c) => c.arguments.action ?? c.tool),
        ["get"],
        "only the allowed read reached FastMCP",
      );
    });

    it("answers a hidden tool as FastMCP would answer a tool it does not have", async () => {
      const client = await proxy.client(KEYS.alice);
      const hidden = await client.callTool({ name: "force_run_execution", arguments: { execution_id: "x" } });
      assert.deepEqual(hidden, {
        isError: true,
        content: [{ type: "text", text: "Unknown tool: 'force_run_execution'" }],
      });
    });

    it("rate-limits per grant: the third resume of a minute is refused, another grant still has its budget", async () => {
      await kestra.reset();
      const client = await proxy.client(KEYS.alice);
      const resume = async () =>
        (await client.callTool({
          name: "resume_execution",
          arguments: { namespace: "company.team", flow_id: "nightly-etl" },
        })) as CallToolResult;
      const first = await resume();
      assert.equal(Object.keys(first.structuredContent as object).length, 1, "the one paused execution resumed");
      const second = await resume();
      assert.equal(second.isError, true, "the server's own error: nothing left to resume (it ran, so it counts)");
      assert.match(textOf(second), /No paused executions found for company\.team\/nightly-etl/);
      const third = await resume();
      assert.match(textOf(third), /^\[RATE LIMITED\] /);
      const { retryAfterSeconds, ...decision } = third._meta?.["mcpwarden.io/decision"] as {
        retryAfterSeconds: number;
      };
      assert.deepEqual(decision, {
        decision: "rate_limited",
        reason: "limit_exceeded",
        rule: "/spec/tools/2/limits/0",
      });
      assert.ok(retryAfterSeconds > 0 && retryAfterSeconds <= 60, `retry after ${retryAfterSeconds} s`);
      assert.equal((await kestra.calls()).length, 2);

      const [, bob] = await runPythonClient(
        proxy.sidecar.url,
        [["tools/call", { name: "resume_execution", arguments: { execution_ids: ["unknown-id"] } }]],
        KEYS.bob,
      );
      assert.match(JSON.stringify(bob), /404 Not Found/, "bob's call reached FastMCP");
      assert.equal((await kestra.calls()).length, 3);
    });

    it("shows the Python client the same denials, hidden tools and answers", async () => {
      await kestra.reset();
      const lines = await runPythonClient(
        proxy.sidecar.url,
        [
          ["tools/call", KV_DELETE],
          [
            "tools/call",
            { name: "delete_flow_logs", arguments: { namespace: "company.team", flow_id: "nightly-etl" } },
          ],
          ["tools/call", { name: "list_namespaces", arguments: { query: "company" } }],
        ],
        KEYS.bob,
      );
      assert.deepEqual(lines[1], {
        ok: {
          content: [
            { type: "text", text: "[POLICY DENIED] Key-value writes go through the platform team's pipeline." },
          ],
          isError: true,
          _meta: {
            "mcpwarden.io/decision": { decision: "denied", reason: "deny_if_matched", rule: "/spec/tools/0/denyIf/0" },
          },
        },
      });
      assert.deepEqual(lines[2], {
        ok: { content: [{ type: "text", text: "Unknown tool: 'delete_flow_logs'" }], isError: true },
      });
      const [reached] = await kestra.calls();
      assert.deepEqual(lines[3], {
        ok: {
          content: reached?.result?.content,
          structuredContent: reached?.result?.structuredContent,
          isError: false,
        },
      });
    });

    it("counts every decision in the metrics and writes it to the audit log", async () => {
      assert.ok(
        ((await proxy.metric("mcp_warden_tool_calls_total", {
          tool: "manage_kv_store",
          decision: "denied",
          reason: "deny_if_matched",
        })) ?? 0) >= 2,
      );
      assert.equal(
        await proxy.metric("mcp_warden_tool_calls_total", { tool: "resume_execution", decision: "rate_limited" }),
        1,
      );
      const audit = proxy.logs.auditLines.find((l) => l.tool === "manage_kv_store" && l.decision === "denied");
      assert.equal(audit?.rule, "/spec/tools/0/denyIf/0");
      assert.deepEqual(audit?.argumentKeys, ["action", "key", "namespace"], "argument names, never values");
    });
  });
});
