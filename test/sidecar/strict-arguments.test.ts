// `spec.arguments: strict` in the real sidecar, judged by the calls that reached the upstream: the
// sidecar is ready before its upstream is up and lists the tools itself once it is, learns schemas
// from agents' tools/list answers too, follows notifications/tools/list_changed, and denies (fail
// closed) tools whose schema nobody listed.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { freePort } from "../support/ports.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { flagTool, startToolListServer, type ToolListServer } from "../upstreams/tool-list-server.ts";
import { eventually } from "../support/eventually.ts";

const POLICY = mcpPolicy(`
default: deny
arguments: strict
tools:
  - {name: toggle, denyIf: ["has(args.flag) && args.flag == true"], reason: "toggle must not be switched on."}
  - {name: agents_only}
  - {name: never_listed}
`);

const decisionOf = (r: CallToolResult) =>
  r._meta?.["mcpwarden.io/decision"] as { decision: string; reason: string; rule: string } | undefined;
const textOf = (r: CallToolResult) => (r.content[0] as { text: string }).text;

describe("spec.arguments: strict in the sidecar", { timeout: 120_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });
  const start = async (url: string): Promise<ProxyHarness> => {
    const proxy = await startProxy(url, { policy: POLICY });
    cleanup.push(() => proxy.close());
    return proxy;
  };
  const upstreamOn = async (
    port: number,
    options: Parameters<typeof startToolListServer>[0] = {},
  ): Promise<ToolListServer> => {
    const upstream = await startToolListServer({ port, ...options });
    cleanup.push(() => upstream.close());
    return upstream;
  };

  it("is ready without its upstream, lists its tools once it is up, then checks calls as declared", async () => {
    const port = await freePort();
    const proxy = await start(`http://127.0.0.1:${port}/mcp`);
    const ready = await fetch(`${proxy.sidecar.adminUrl}/readyz`);
    assert.equal(ready.status, 200, "readiness does not wait for the upstream's tools");

    // The upstream comes up later (in a pod it starts after the sidecar is ready).
    const upstream = await upstreamOn(port, { tools: [flagTool("toggle")] });
    const agent = await proxy.client(KEYS.alice);
    await eventually(
      () => proxy.logs.logLines.some((l) => l.msg === "listed the upstream's tools"),
      "the sidecar's own listing",
      20_000,
    );
    assert.ok(
      proxy.logs.logLines.some(
        (l) => String(l.msg).startsWith("cannot list the upstream's tools yet") && l.level === "warn",
      ),
      "the failed attempts were logged",
    );

    const coerced = (await agent.callTool({ name: "toggle", arguments: { flag: "true" } })) as CallToolResult;
    assert.deepEqual(decisionOf(coerced), {
      decision: "denied",
      reason: "input_schema_mismatch",
      rule: "/spec/arguments",
    });
    assert.match(
      textOf(coerced),
      /^\[POLICY DENIED\] Arguments of 'toggle' do not match the inputSchema the tool declares: argument flag must be a boolean, not the string "true"/,
    );
    const on = (await agent.callTool({ name: "toggle", arguments: { flag: true } })) as CallToolResult;
    assert.equal(decisionOf(on)?.reason, "deny_if_matched", "then the policy's rule");
    const off = (await agent.callTool({ name: "toggle", arguments: { flag: false } })) as CallToolResult;
    assert.equal(decisionOf(off), undefined);
    assert.equal(textOf(off), "ran toggle");
    assert.deepEqual(
      upstream.calls,
      [{ tool: "toggle", arguments: { flag: false } }],
      "only the valid call reached the upstream",
    );
  });

  it("learns from the tools/list answers agents receive, follows list_changed, and fails closed on tools nobody listed", async () => {
    // The sidecar's own session sees no agents_only tool; agents' sessions do.
    const upstream = await upstreamOn(0, {
      tools: [flagTool("toggle"), flagTool("agents_only", "integer")],
      toolsFor: (headers, tools) =>
        String(headers["user-agent"]).startsWith("mcp-warden-sidecar/")
          ? tools.filter((t) => t.name !== "agents_only")
          : tools,
    });
    const proxy = await start(upstream.url);
    const agent = await proxy.client(KEYS.bob);
    await eventually(
      () => proxy.logs.logLines.some((l) => l.msg === "listed the upstream's tools"),
      "the sidecar's own listing",
    );

    const started = Date.now();
    const unknown = (await agent.callTool({ name: "agents_only", arguments: { flag: 1 } })) as CallToolResult;
    assert.deepEqual(decisionOf(unknown), {
      decision: "denied",
      reason: "input_schema_unknown",
      rule: "/spec/arguments",
    });
    assert.match(textOf(unknown), /has not listed 'agents_only' to the sidecar yet\. Call tools\/list, then retry/);
    assert.ok(Date.now() - started < 4000, "it waited for one listing at most");

    const listed = await agent.listTools();
    assert.ok(listed.tools.some((t) => t.name === "agents_only"));
    assert.equal(
      decisionOf((await agent.callTool({ name: "agents_only", arguments: { flag: 1 } })) as CallToolResult),
      undefined,
      "learnt from the agent's list",
    );
    assert.equal(
      decisionOf((await agent.callTool({ name: "agents_only", arguments: { flag: "1" } })) as CallToolResult)?.reason,
      "input_schema_mismatch",
    );

    // The upstream changes toggle's schema and says so: the sidecar's own session lists again.
    upstream.tools = [flagTool("toggle", "string")];
    await upstream.announce();
    await eventually(
      async () =>
        decisionOf((await agent.callTool({ name: "toggle", arguments: { flag: "on" } })) as CallToolResult) ===
        undefined,
      "the new schema of toggle",
    );

    const never = (await agent.callTool({ name: "never_listed", arguments: {} })) as CallToolResult;
    assert.equal(
      decisionOf(never)?.reason,
      "input_schema_unknown",
      "allowed by the policy, declared by nobody: denied",
    );
    assert.deepEqual(
      upstream.calls.map((c) => [c.tool, c.arguments]),
      [
        ["agents_only", { flag: 1 }],
        ["toggle", { flag: "on" }],
      ],
      "only calls that matched their declared schema reached the upstream",
    );
  });
});
