// How the policy in force changes: startup with a missing or invalid policy, live reloads (counters
// kept, invalid versions rejected), and Audit mode.
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { KEYS, startHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { StartupError } from "../../sidecar/sidecar.ts";
import { eventually } from "../support/eventually.ts";

type ToolResult = { isError?: boolean; content: { text: string }[] };
const text = (r: unknown) => (r as ToolResult).content[0]?.text ?? "";

/** Writes a file whole (temp file + rename), as a careful operator or the kubelet does. */
function writeWhole(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

const RESUME_3 = mcpPolicy(`
default: deny
tools:
  - name: resume_execution
    limits: [{counter: resume, window: minute, max: 3}]
`);

describe("policy lifecycle", () => {
  it("denies every call and is not ready until a policy exists, then enforces it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-warden-later-"));
    const later = join(dir, "policy.yaml");
    const h = await startHarness({ policy: "", config: { policy: later } });
    try {
      const ready = await fetch(`${h.sidecar.adminUrl}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: "not ready", reason: "no policy loaded" });
      assert.equal((await fetch(`${h.sidecar.adminUrl}/healthz`)).status, 200);
      const client = await h.client(KEYS.alice);
      assert.match(
        text(await client.callTool({ name: "resume_execution", arguments: {} })),
        /^\[POLICY DENIED\] No policy is loaded/,
      );
      assert.equal(h.upstream.calls.length, 0);
      assert.equal((await client.listTools()).tools.length, 0, "without a policy nothing is listed");
      assert.equal(await h.metric("mcp_warden_tool_calls_total", { reason: "no_policy", policy: "_none" }), 1);

      writeWhole(later, RESUME_3);
      await eventually(
        async () => (await fetch(`${h.sidecar.adminUrl}/readyz`)).status === 200,
        "readiness once the policy file appears",
      );
      assert.equal(
        ((await client.callTool({ name: "resume_execution", arguments: {} })) as ToolResult).isError,
        undefined,
      );
      assert.equal(h.upstream.calls.length, 1);
    } finally {
      await h.close();
    }
  });

  it("refuses to start on an invalid policy, listing every problem", async () => {
    await assert.rejects(
      startHarness({
        policy: mcpPolicy("default: deny\ntools:\n  - name: a\n    denyIf: ['args.x ==']\n  - name: a\n"),
      }),
      (err: unknown) =>
        err instanceof StartupError &&
        err.problems.length === 2 &&
        err.problems.some((p) => p.includes("spec.tools[0].denyIf[0]")),
    );
  });

  it("refuses to start when the policy's Redis store cannot be configured, saying what is missing", async () => {
    await assert.rejects(
      startHarness({ policy: mcpPolicy("default: allow\nrateLimit: {store: redis}") }),
      (err: unknown) =>
        err instanceof StartupError &&
        /spec\.rateLimit: store redis needs redis\.url or redis\.secretRef/.test(err.problems.join("\n")),
    );
    await assert.rejects(
      startHarness({
        policy: mcpPolicy("default: allow\nrateLimit: {store: redis, redis: {secretRef: {name: redis, key: url}}}"),
      }),
      (err: unknown) => err instanceof StartupError && /MCP_WARDEN_REDIS_URL is not set/.test(err.problems.join("\n")),
    );
  });

  it("reloads a changed file, keeps rate-limit counters, and keeps the old policy when the new one is invalid", async () => {
    const h = await startHarness({ policy: RESUME_3 });
    try {
      const alice = await h.client(KEYS.alice);
      for (let i = 0; i < 2; i++) await alice.callTool({ name: "resume_execution", arguments: {} });
      assert.match(text(await alice.callTool({ name: "list_namespaces", arguments: {} })), /^\[POLICY DENIED\]/);

      writeWhole(
        h.policyFile,
        RESUME_3.replace("generation: 1", "generation: 2").replace("tools:\n", "tools:\n    - name: list_namespaces\n"),
      );
      await eventually(
        async () => (await h.metric("mcp_warden_policy_info", { version: "2" })) === 1,
        "policy generation 2",
      );
      assert.equal(
        ((await alice.callTool({ name: "list_namespaces", arguments: {} })) as ToolResult).isError,
        undefined,
      );
      // Two of three were used before the reload: one left.
      assert.equal(
        ((await alice.callTool({ name: "resume_execution", arguments: {} })) as ToolResult).isError,
        undefined,
      );
      assert.match(text(await alice.callTool({ name: "resume_execution", arguments: {} })), /^\[RATE LIMITED\]/);

      writeWhole(
        h.policyFile,
        "apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: kestra}\nspec: {default: maybe}\n",
      );
      await eventually(
        async () => (await h.metric("mcp_warden_policy_reloads_total", { result: "invalid" })) === 1,
        "the invalid reload",
      );
      assert.equal(await h.metric("mcp_warden_policy_info", { version: "2" }), 1, "generation 2 stays in force");
      assert.equal(
        ((await alice.callTool({ name: "list_namespaces", arguments: {} })) as ToolResult).isError,
        undefined,
      );
      const rejection = h.logs.logLines.find(
        (l) => l.msg === "invalid policy rejected; the previous policy stays in force",
      );
      assert.ok(rejection);
      assert.match(JSON.stringify(rejection.problems), /spec\.default/);
      assert.equal((await fetch(`${h.sidecar.adminUrl}/readyz`)).status, 200);
    } finally {
      await h.close();
    }
  });

  it("in Audit mode decides, counts and logs, but forwards everything and filters nothing", async () => {
    const h = await startHarness({
      policy: mcpPolicy("mode: Audit\ndefault: deny\nhide: [force_run_execution]\ntools:\n  - name: list_namespaces"),
    });
    try {
      const alice = await h.client(KEYS.alice);
      assert.equal((await alice.listTools()).tools.length, 39);
      const denied = (await alice.callTool({
        name: "delete_flow_logs",
        arguments: { namespace: "a", flow_id: "b" },
      })) as ToolResult;
      assert.equal(denied.isError, undefined, "forwarded and answered by the upstream");
      await alice.callTool({ name: "force_run_execution", arguments: { execution_id: "e" } });
      assert.deepEqual(
        h.upstream.calls.map((c) => c.tool),
        ["delete_flow_logs", "force_run_execution"],
      );
      assert.equal(
        await h.metric("mcp_warden_tool_calls_total", {
          tool: "delete_flow_logs",
          decision: "denied",
          reason: "default_deny",
          mode: "Audit",
        }),
        1,
      );
      assert.equal(
        await h.metric("mcp_warden_tool_calls_total", {
          tool: "force_run_execution",
          decision: "denied",
          reason: "hidden",
          mode: "Audit",
        }),
        1,
      );
      const line = h.logs.auditLines.find((l) => l.tool === "delete_flow_logs");
      assert.equal(line?.decision, "denied");
      assert.equal(line?.forwarded, true);
      assert.equal(line?.mode, "Audit");
    } finally {
      await h.close();
    }
  });

  it("answers a hidden tool exactly as the upstream answers a tool it does not have", async () => {
    const h = await startHarness({ policy: mcpPolicy("default: allow\nhide: [force_run_execution]") });
    try {
      const alice = await h.client(KEYS.alice);
      const hidden = (await alice.callTool({ name: "force_run_execution", arguments: {} })) as ToolResult;
      assert.deepEqual(hidden, {
        isError: true,
        content: [{ type: "text", text: "Unknown tool: 'force_run_execution'" }],
      });
      const missing = (await alice.callTool({ name: "not_a_kestra_tool", arguments: {} })) as ToolResult;
      assert.equal(text(missing), "Unknown tool: 'not_a_kestra_tool'", "the upstream's own answer");
      assert.deepEqual(
        JSON.parse(JSON.stringify(missing).replaceAll("not_a_kestra_tool", "force_run_execution")),
        hidden,
      );
      assert.equal(
        h.upstream.calls.some((c) => c.tool === "force_run_execution"),
        false,
      );
    } finally {
      await h.close();
    }
  });
});
