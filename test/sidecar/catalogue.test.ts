// The sidecar knows its upstream's catalogue on its own (its own session lists the tools from the
// start): a freshly restarted sidecar, whose agents never list tools (they cached the list), counts a
// default-denied call of a tool the server has under the tool's name, and a made-up name as
// `_unknown`. An upstream that is down when the sidecar starts delays nothing: calls are decided at
// once, and the catalogue arrives once the upstream is up (retried with backoff).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connectClient, outcomeOf } from "../support/mcp-clients.ts";
import { messagesOf, rawPost, toolCall } from "../support/raw-mcp.ts";
import { KEYS, type LogLine } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { sidecarFiles, startSidecarProcess, type SidecarFiles } from "../support/sidecar-process.ts";
import { startUpstreamProcess } from "../support/upstream-process.ts";
import { startKestraFastMcp, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";
import { eventually } from "../support/eventually.ts";

// restart_execution is named nowhere in the policy: only the server's catalogue can name it.
const POLICY = mcpPolicy("default: deny\ntools:\n  - name: list_namespaces");
const LISTED = (line: LogLine) => line.msg === "listed the upstream's tools";
const RESTART_ARGS = { namespace: "company.team", flow_id: "nightly", execution_id: "e-1" };

describe("the upstream's catalogue, known without any agent listing tools", () => {
  let kestra: KestraFastMcp;
  let files: SidecarFiles;
  before(async () => {
    kestra = await startKestraFastMcp();
    files = sidecarFiles(POLICY);
  });
  after(() => kestra.stop());

  it("labels a default-denied restart_execution with its name after a restart, and a made-up name _unknown", async () => {
    // A first sidecar, used by an agent that lists tools (and caches the list) ...
    const first = await startSidecarProcess({ policy: files.policy, apiKeys: files.apiKeys, upstream: kestra.url });
    const listing = await connectClient(first.url, KEYS.alice);
    assert.ok((await listing.listTools()).tools.some((t) => t.name === "list_namespaces"));
    await listing.close();
    await first.stop();

    // ... then a fresh sidecar process: the agent calls from its cached list, never tools/list.
    const sidecar = await startSidecarProcess({ policy: files.policy, apiKeys: files.apiKeys, upstream: kestra.url });
    try {
      const listed = await sidecar.waitForLog(LISTED, "the sidecar's own listing");
      assert.equal(listed.tools, 39);
      const agent = await connectClient(sidecar.url, KEYS.alice);
      assert.equal(outcomeOf(await agent.callTool({ name: "restart_execution", arguments: RESTART_ARGS })), "denied");
      assert.equal(
        outcomeOf(await agent.callTool({ name: "restart_everything", arguments: {} })),
        "tool_error",
        "a name the server does not have answers as the server answers it",
      );
      await agent.close();

      assert.equal(
        await sidecar.metric("mcp_warden_tool_calls_total", {
          tool: "restart_execution",
          decision: "denied",
          reason: "default_deny",
        }),
        1,
      );
      assert.equal(
        await sidecar.metric("mcp_warden_tool_calls_total", {
          tool: "_unknown",
          decision: "denied",
          reason: "default_deny",
        }),
        1,
      );
      assert.equal(await sidecar.metric("mcp_warden_tool_calls_total", { tool: "restart_everything" }), undefined);
      assert.equal(await sidecar.metric("mcp_warden_upstream_tools"), 39);
      await eventually(() => sidecar.auditLines.length >= 2, "the audit lines of both calls");
      assert.deepEqual(
        sidecar.auditLines.map((l) => [l.tool, l.decision, l.reason]),
        [
          ["restart_execution", "denied", "default_deny"],
          ["restart_everything", "denied", "default_deny"],
        ],
      );
      assert.deepEqual(
        (await kestra.calls()).map((c) => c.tool),
        [],
        "FastMCP ran none of the denied calls",
      );
      for (const probe of await kestra.probes())
        assert.equal(probe.result, undefined, "the sidecar's probe ran nothing");
    } finally {
      await sidecar.stop();
    }
  });
});

describe("an upstream that is down when the sidecar starts", () => {
  it("delays no call, and the catalogue arrives once the upstream is up", async () => {
    const upstream = await startUpstreamProcess({ kind: "kestra" });
    await upstream.kill();
    const files = sidecarFiles(POLICY);
    const sidecar = await startSidecarProcess({ policy: files.policy, apiKeys: files.apiKeys, upstream: upstream.url });
    try {
      const auth = { authorization: `Bearer ${KEYS.alice}` };
      const started = performance.now();
      const [denied] = messagesOf(await rawPost(sidecar.url, toolCall(1, "restart_execution", RESTART_ARGS), auth));
      const took = performance.now() - started;
      assert.match(
        JSON.stringify(denied),
        /\[POLICY DENIED\] Tool 'restart_execution' is not allowed by policy 'agents\/kestra' \(default deny\)/,
      );
      assert.ok(took < 1000, `decided in ${took.toFixed(0)} ms while the upstream is down`);
      assert.equal(
        await sidecar.metric("mcp_warden_tool_calls_total", { tool: "_unknown", reason: "default_deny" }),
        1,
        "before any listing, a name the policy does not name is _unknown",
      );
      await sidecar.waitForLog(
        (l) => l.msg?.toString().startsWith("cannot list the upstream's tools yet") === true,
        "a listing failure while the upstream is down",
      );

      await upstream.restart();
      await sidecar.waitForLog(LISTED, "the listing once the upstream is up", 30_000);
      await rawPost(sidecar.url, toolCall(2, "restart_execution", RESTART_ARGS), auth);
      assert.equal(
        await sidecar.metric("mcp_warden_tool_calls_total", { tool: "restart_execution", reason: "default_deny" }),
        1,
      );
    } finally {
      await sidecar.stop();
      await upstream.stop();
    }
  });
});
