// The sidecar enforcing a policy in front of the Kestra double, seen through the TypeScript SDK client:
// what the agent sees for each decision, what reaches the upstream, metrics, audit lines and refunds.
// Every case runs against an upstream answering as SSE (FastMCP's default) and as JSON.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { KEYS, startHarness, type Harness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";

const POLICY = mcpPolicy(`
default: deny
hide: [force_run_execution]
tools:
  - name: resume_execution
    limits: [{counter: resume, window: minute, max: 3}]
  - name: list_executions
  - name: list_namespaces
  - name: manage_kv_store
    denyIf: ["args.action == 'delete'"]
    reason: "Deleting keys is not allowed for agents."
  - name: execute_flow
    action: approve
  - name: restart_execution
    limits: [{counter: restart, window: minute, max: 2}]
`);

type ToolResult = { isError?: boolean; content: { type: string; text: string }[]; _meta?: Record<string, unknown> };
const text = (r: unknown) => (r as ToolResult).content[0]?.text ?? "";

for (const answers of ["sse", "json"] as const) {
  describe(`enforcement (upstream answers ${answers})`, () => {
    let h: Harness;
    let alice: Client;
    before(async () => {
      h = await startHarness({ policy: POLICY, upstream: { answers } });
      alice = await h.client(KEYS.alice);
      await alice.listTools(); // as agents do; the sidecar learns the upstream's tool names from it
    });
    after(() => h.close());

    it("passes an allowed call and returns the upstream's answer untouched", async () => {
      const result = await alice.callTool({ name: "list_executions", arguments: { namespace: "company.team" } });
      assert.equal((result as ToolResult).isError, undefined);
      const direct = h.upstream.calls.at(-1);
      assert.deepEqual(direct?.arguments, { namespace: "company.team" });
      const body = JSON.parse(text(result)) as { results: unknown[] };
      assert.equal(body.results.length, 13);
      assert.deepEqual((result as { structuredContent?: unknown }).structuredContent, body);
    });

    it("answers a default-denied call with [POLICY DENIED] and never forwards it", async () => {
      const before = h.upstream.calls.length;
      const result = (await alice.callTool({
        name: "delete_flow_logs",
        arguments: { namespace: "a", flow_id: "b" },
      })) as ToolResult;
      assert.equal(result.isError, true);
      assert.match(
        text(result),
        /^\[POLICY DENIED\] Tool 'delete_flow_logs' is not allowed by policy 'agents\/kestra' \(default deny\)/,
      );
      assert.deepEqual(result._meta?.["mcpwarden.io/decision"], {
        decision: "denied",
        reason: "default_deny",
        rule: "(default deny)",
      });
      assert.equal(h.upstream.calls.length, before, "the denied call reached the upstream");
    });

    it("decides on arguments (denyIf) and shows the rule's reason", async () => {
      const ok = (await alice.callTool({
        name: "manage_kv_store",
        arguments: { namespace: "n", action: "get", key: "k" },
      })) as ToolResult;
      assert.equal(ok.isError, undefined);
      const denied = (await alice.callTool({
        name: "manage_kv_store",
        arguments: { namespace: "n", action: "delete", key: "k" },
      })) as ToolResult;
      assert.equal(text(denied), "[POLICY DENIED] Deleting keys is not allowed for agents.");
      assert.equal(h.upstream.calls.filter((c) => c.arguments.action === "delete").length, 0);
    });

    it("rate-limits per caller and says when to retry", async () => {
      const bob = await h.client(KEYS.bob);
      for (let i = 0; i < 3; i++)
        assert.equal(
          ((await alice.callTool({ name: "resume_execution", arguments: {} })) as ToolResult).isError,
          undefined,
        );
      const limited = (await alice.callTool({ name: "resume_execution", arguments: {} })) as ToolResult;
      assert.match(
        text(limited),
        /^\[RATE LIMITED\] Rate limit reached for 'resume_execution': at most 3 calls per minute per caller .*Retry after \d+ seconds?\./,
      );
      assert.equal(
        (limited._meta?.["mcpwarden.io/decision"] as { retryAfterSeconds: number }).retryAfterSeconds > 0,
        true,
      );
      // bob has a budget of his own
      assert.equal(
        ((await bob.callTool({ name: "resume_execution", arguments: {} })) as ToolResult).isError,
        undefined,
      );
    });

    it("answers approval-required calls with [APPROVAL REQUIRED]", async () => {
      const result = (await alice.callTool({
        name: "execute_flow",
        arguments: { namespace: "n", flow_id: "f" },
      })) as ToolResult;
      assert.match(text(result), /^\[APPROVAL REQUIRED\] /);
      assert.equal(
        h.upstream.calls.some((c) => c.tool === "execute_flow"),
        false,
      );
    });

    it("hides tools: absent from tools/list, and a call answers as the upstream answers a tool it does not have", async () => {
      const { tools } = await alice.listTools();
      assert.equal(tools.length, 38);
      assert.equal(
        tools.some((t) => t.name === "force_run_execution"),
        false,
      );
      const full = tools.find((t) => t.name === "list_executions");
      assert.ok(full?.outputSchema, "unknown and optional fields of other tools survive the filtering");
      await h.catalogued();
      const hidden = await alice.callTool({ name: "force_run_execution", arguments: { execution_id: "x" } });
      const missing = await alice.callTool({ name: "no_such_tool_at_all", arguments: { execution_id: "x" } });
      assert.deepEqual(hidden, {
        isError: true,
        content: [{ type: "text", text: "Unknown tool: 'force_run_execution'" }],
      });
      assert.deepEqual(
        JSON.parse(JSON.stringify(missing).replaceAll("no_such_tool_at_all", "force_run_execution")),
        hidden,
      );
      assert.equal(
        h.upstream.calls.some((c) => c.tool === "force_run_execution"),
        false,
      );
    });

    it("never passes the caller's Authorization header to the upstream", () => {
      assert.ok(h.upstream.requests.length > 0);
      for (const r of h.upstream.requests) assert.equal(r.headers.authorization, undefined);
    });

    it("gives the reservation back when the upstream fails the call (JSON-RPC error, HTTP 500, broken connection)", async () => {
      const bob = await h.client(KEYS.bob);
      const failures = ["rpc_error", "http_500", "disconnect"] as const;
      for (const failure of failures) {
        h.upstream.failNext("restart_execution", failure);
        await bob
          .callTool({ name: "restart_execution", arguments: { namespace: "n", flow_id: "f" } })
          .catch(() => undefined);
      }
      // max 2 per minute: all three failures were refunded, so two calls still pass.
      for (let i = 0; i < 2; i++) {
        const r = (await bob.callTool({
          name: "restart_execution",
          arguments: { namespace: "n", flow_id: "f" },
        })) as ToolResult;
        assert.equal(r.isError, undefined, `call ${i + 1} after the refunds was refused: ${text(r)}`);
      }
      const third = (await bob.callTool({
        name: "restart_execution",
        arguments: { namespace: "n", flow_id: "f" },
      })) as ToolResult;
      assert.match(text(third), /^\[RATE LIMITED\]/);
      const refunded = h.logs.auditLines.filter((l) => l.tool === "restart_execution" && l.refunded === true);
      assert.deepEqual(refunded.map((l) => l.upstreamOutcome).sort(), ["connection_error", "http_error", "rpc_error"]);
    });

    it("counts decisions with bounded labels: names the upstream does not have are _unknown", async () => {
      await alice.callTool({ name: "no_such_tool", arguments: {} });
      await alice.callTool({ name: "another_made_up_tool", arguments: {} });
      assert.equal(await h.metric("mcp_warden_tool_calls_total", { tool: "no_such_tool" }), undefined);
      // These two and no_such_tool_at_all of the hidden-tool case.
      assert.equal(
        await h.metric("mcp_warden_tool_calls_total", { tool: "_unknown", decision: "denied", reason: "default_deny" }),
        3,
      );
      assert.equal(
        await h.metric("mcp_warden_tool_calls_total", {
          tool: "delete_flow_logs",
          decision: "denied",
          reason: "default_deny",
          policy: "agents/kestra",
          mode: "Enforce",
        }),
        1,
      );
      assert.equal(
        await h.metric("mcp_warden_tool_calls_total", {
          tool: "force_run_execution",
          decision: "denied",
          reason: "hidden",
        }),
        1,
      );
      assert.equal(
        await h.metric("mcp_warden_tool_calls_total", { tool: "execute_flow", decision: "approval_required" }),
        1,
      );
      assert.ok(
        ((await h.metric("mcp_warden_tool_calls_total", {
          tool: "resume_execution",
          decision: "rate_limited",
          reason: "limit_exceeded",
        })) ?? 0) >= 1,
      );
      assert.ok(((await h.metric("mcp_warden_tool_call_duration_seconds_count", { decision: "allowed" })) ?? 0) >= 5);
      assert.ok(
        ((await h.metric("mcp_warden_requests_total", { method: "tools/call", outcome: "forwarded" })) ?? 0) >= 5,
      );
      assert.equal(
        await h.metric("mcp_warden_policy_info", {
          policy: "agents/kestra",
          format: "McpPolicy",
          version: "1",
          mode: "Enforce",
        }),
        1,
      );
      assert.equal(await h.metric("mcp_warden_build_info", { component: "sidecar" }), 1);
      assert.equal(await h.metric("mcp_warden_upstream_tools"), 39, "learnt from tools/list, hidden tools included");
      assert.equal(await h.metric("mcp_warden_sessions"), 3);
      assert.equal(
        await h.metric("mcp_warden_rate_limit_store_errors_total", { store: "memory" }),
        0,
        "the store in use starts at zero, so a first failure shows in increase()",
      );
      assert.ok(
        ((await h.metric("mcp_warden_upstream_duration_seconds_count", {
          policy: "agents/kestra",
          tool: "resume_execution",
        })) ?? 0) >= 1,
        "forwarded calls, by tool",
      );
      assert.equal(
        await h.metric("mcp_warden_upstream_duration_seconds_count", { tool: "delete_flow_logs" }),
        undefined,
        "calls not forwarded cost the upstream nothing",
      );
    });

    it("writes one audit line per decision, with argument keys but never values", async () => {
      await alice.callTool({
        name: "manage_kv_store",
        arguments: { namespace: "n", action: "set", key: "k", value: "s3cr3t-value-xyz" },
      });
      const line = h.logs.auditLines.findLast((l) => l.tool === "manage_kv_store");
      assert.ok(line);
      assert.equal(line.audit, true);
      assert.deepEqual(line.argumentKeys, ["action", "key", "namespace", "value"]);
      assert.equal(JSON.stringify(h.logs.auditLines).includes("s3cr3t-value-xyz"), false);
      assert.deepEqual((line.caller as Record<string, unknown>).grant, "apikey:alice");
      for (const field of [
        "policy",
        "policyVersion",
        "session",
        "decision",
        "reason",
        "rule",
        "upstreamStatus",
        "durationMs",
      ])
        assert.ok(field in line, field);
      assert.equal(line.upstreamStatus, 200);
      assert.equal(line.policyVersion, "1");
      assert.match(String(line.session), /^[0-9a-f]{16}$/, "a fingerprint, not the session id");
    });
  });
}
