// Interop with the MCP Inspector CLI (@modelcontextprotocol/inspector --cli), the tool people reach for
// to poke an MCP server by hand. It exits 5 when a tool result has isError, so a denial is visible to
// scripts too.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KEYS, startHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { runPeer } from "../support/processes.ts";

const INSPECTOR = new URL("../../node_modules/.bin/mcp-inspector", import.meta.url).pathname;
const inspect = (url: string, args: string[], key?: string) =>
  runPeer(
    INSPECTOR,
    ["--cli", url, "--transport", "http", ...(key ? ["--header", `Authorization: Bearer ${key}`] : []), ...args],
    { timeoutMs: 90_000 },
  );

describe("MCP Inspector CLI ↔ sidecar ↔ Kestra double", { timeout: 240_000 }, () => {
  it("lists the same tools, byte for byte, directly and through a sidecar that hides none", async () => {
    const h = await startHarness({ policy: mcpPolicy("default: allow") });
    try {
      const direct = await inspect(h.upstream.url, ["--method", "tools/list"]);
      const proxied = await inspect(h.sidecar.url, ["--method", "tools/list"], KEYS.alice);
      assert.equal(direct.code, 0, direct.stderr);
      assert.equal(proxied.code, 0, proxied.stderr);
      assert.equal(proxied.stdout, direct.stdout);
      assert.equal((JSON.parse(direct.stdout) as { tools: unknown[] }).tools.length, 39);
    } finally {
      await h.close();
    }
  });

  it("shows allowed calls, denials (exit 5) and hidden tools under the first Kestra example plus a hide", async () => {
    const h = await startHarness({
      policy: mcpPolicy(
        "default: deny\nhide: [force_run_execution]\ntools:\n  - name: resume_execution\n    limits: [{counter: resume_execution_rate, window: minute, max: 10}]",
      ),
    });
    try {
      const allowed = await inspect(
        h.sidecar.url,
        ["--method", "tools/call", "--tool-name", "resume_execution", "--tool-arg", "namespace=company.team"],
        KEYS.alice,
      );
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.match(allowed.stdout, /RUNNING/);
      const denied = await inspect(
        h.sidecar.url,
        ["--method", "tools/call", "--tool-name", "list_executions", "--tool-arg", "namespace=company.team"],
        KEYS.alice,
      );
      assert.equal(denied.code, 5, denied.stderr);
      assert.match(denied.stdout, /\[POLICY DENIED\] Tool 'list_executions' is not allowed by policy 'agents\/kestra'/);
      const listed = await inspect(h.sidecar.url, ["--method", "tools/list"], KEYS.alice);
      assert.equal(
        (JSON.parse(listed.stdout) as { tools: { name: string }[] }).tools.some(
          (t) => t.name === "force_run_execution",
        ),
        false,
      );
      const hidden = await inspect(
        h.sidecar.url,
        ["--method", "tools/call", "--tool-name", "force_run_execution", "--tool-arg", "execution_id=e1"],
        KEYS.alice,
      );
      assert.notEqual(hidden.code, 0);
      // The Inspector looks the tool up in tools/list first: hidden, it does not exist.
      assert.match(hidden.stdout + hidden.stderr, /Tool 'force_run_execution' not found on server/);
      const anonymous = await inspect(h.sidecar.url, ["--method", "tools/list"]);
      assert.notEqual(anonymous.code, 0, "without a key the sidecar refuses");
      assert.deepEqual(
        h.upstream.calls.map((c) => c.tool),
        ["resume_execution"],
      );
    } finally {
      await h.close();
    }
  });
});
