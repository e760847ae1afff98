// Human approval through Kubernetes, end to end on a real API server: a sidecar that reads its
// McpPolicy from the API as a pod of the namespace would (only the sidecar Role), an agent using the
// TypeScript SDK, and an approver deciding with the CLI's code as a user bound to mcp-warden-approver.
// Approve, deny, timeout, retry after approval (exactly once), changed arguments, expiry, limits of
// approved calls, batches, and a client that only accepts JSON.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Progress } from "@modelcontextprotocol/sdk/types.js";
import { argumentsDigest } from "../../policy/approval/binding.ts";
import { KEYS, startHarness, type Harness } from "../support/sidecar-harness.ts";
import { messagesOf, rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";
import { startApprovalCluster, type ApprovalCluster } from "./fixture.ts";

const SPEC = {
  default: "deny",
  tools: [
    { name: "execute_flow", action: "approve", approval: { timeout: "60s", ttl: "10m" } },
    { name: "restart_execution", action: "approve", approval: { timeout: "2s", ttl: "10m" } },
    { name: "resume_execution", action: "approve", approval: { timeout: "3s", ttl: "3s" } },
    {
      name: "change_taskrun_state",
      action: "approve",
      approval: { timeout: "2s", ttl: "10m" },
      limits: [{ counter: "state", window: "minute", max: 1 }],
    },
    { name: "list_namespaces" },
  ],
};

type ToolResult = {
  isError?: boolean;
  content: { type: string; text: string }[];
  _meta?: Record<string, { decision: string; reason: string; rule: string }>;
};
const text = (r: unknown) => (r as ToolResult).content[0]?.text ?? "";
const approvalNamed = (t: string) => /Approval agents\/([a-z0-9-]+)/.exec(t)?.[1];

describe("approval through Kubernetes (real kube-apiserver)", { timeout: 240_000 }, () => {
  let k: ApprovalCluster;
  let h: Harness;
  let alice: Client;
  const callsOf = (tool: string) => h.upstream.calls.filter((c) => c.tool === tool);

  before(async () => {
    k = await startApprovalCluster("approvals-kubernetes");
    await k.applyPolicy(SPEC);
    h = await startHarness({
      policy: "unused: the policy comes from the API",
      config: { policy: "k8s://agents/kestra", approvalKeepAliveMs: 200 },
      sidecar: { kubeConfig: k.sidecarKubeConfig, podName: "kestra-0" },
    });
    alice = await h.client(KEYS.alice);
  });
  after(async () => {
    await h?.close();
    await k?.stop();
  });

  it("holds the call, keeps it alive with progress, and forwards it once when a person approves", async () => {
    const args = { namespace: "company.team", flow_id: "nightly" };
    const progress: Progress[] = [];
    const answer = alice.callTool({ name: "execute_flow", arguments: args }, undefined, {
      onprogress: (p) => progress.push(p),
      resetTimeoutOnProgress: true,
      timeout: 120_000,
    });
    const approval = await k.approvalWhere((a) => a.spec.tool === "execute_flow");
    assert.deepEqual(
      {
        policy: approval.spec.policy,
        generation: approval.spec.policyGeneration,
        caller: approval.spec.caller,
        digest: approval.spec.argsDigest,
        args: approval.spec.args,
        label: approval.metadata.labels?.["mcpwarden.io/policy"],
      },
      {
        policy: "kestra",
        generation: 1,
        caller: "apikey:alice",
        digest: argumentsDigest(args),
        args: '{"flow_id":"nightly","namespace":"company.team"}',
        label: "kestra",
      },
    );
    assert.match(approval.spec.session ?? "", /^[0-9a-f]{16}$/, "bound to the MCP session by its fingerprint");
    assert.match(approval.metadata.name, /^execute-flow-[a-z0-9]{5}$/);
    await assertEventually(() =>
      progress.some((p) => p.message === `waiting for approval agents/${approval.metadata.name}`),
    );
    assert.equal(callsOf("execute_flow").length, 0, "nothing reaches the MCP server before the decision");

    await k.decide(approval.metadata.name, "Approved", "change ticket 42");
    const result = (await answer) as ToolResult;
    assert.equal(result.isError, undefined, text(result));
    assert.deepEqual(
      callsOf("execute_flow").map((c) => c.arguments),
      [args],
    );
    const used = await k.approvalWhere((a) => a.metadata.name === approval.metadata.name);
    assert.deepEqual(
      { by: used.spec.use?.by, via: used.spec.use?.via, decidedBy: used.status?.decidedBy },
      { by: "kestra-0", via: "Kubernetes", decidedBy: "ops-alice" },
    );
    const audit = h.logs.auditLines.find((l) => l.tool === "execute_flow");
    assert.deepEqual(
      [audit?.decision, audit?.reason, audit?.forwarded, audit?.approval],
      [
        "allowed",
        "approved",
        true,
        { name: `agents/${approval.metadata.name}`, via: "Kubernetes", decidedBy: "ops-alice" },
      ],
    );
    assert.equal(
      await h.metric("mcp_warden_tool_calls_total", { tool: "execute_flow", decision: "allowed", reason: "approved" }),
      1,
    );
  });

  it("answers [POLICY DENIED] with the approver's reason, and keeps refusing those arguments", async () => {
    const args = { namespace: "company.team", flow_id: "drop-tables" };
    const answer = alice.callTool({ name: "execute_flow", arguments: args }, undefined, { timeout: 120_000 });
    const approval = await k.approvalWhere(
      (a) => a.spec.tool === "execute_flow" && a.spec.argsDigest === argumentsDigest(args),
    );
    await k.decide(approval.metadata.name, "Denied", "not during business hours");
    const result = (await answer) as ToolResult;
    assert.equal(
      text(result),
      `[POLICY DENIED] Approval agents/${approval.metadata.name} for 'execute_flow' was denied by ops-alice: not during business hours. Do not retry it with these arguments.`,
    );
    assert.deepEqual(result._meta?.["mcpwarden.io/decision"], {
      decision: "denied",
      reason: "approval_denied",
      rule: "/spec/tools/0",
    });
    const again = (await alice.callTool({ name: "execute_flow", arguments: args })) as ToolResult;
    assert.equal(text(again), text(result), "a retry is refused at once, without asking again");
    assert.equal((await k.approvals()).filter((a) => a.spec.argsDigest === argumentsDigest(args)).length, 1);
    assert.equal(callsOf("execute_flow").filter((c) => c.arguments.flow_id === "drop-tables").length, 0);
  });

  it("times out with [APPROVAL REQUIRED] naming the approval; after approval a retry runs exactly once, other arguments need their own", async () => {
    const a = { namespace: "prod", flow_id: "billing", execution_id: "e-1" };
    const first = text(await alice.callTool({ name: "restart_execution", arguments: a }));
    const name = approvalNamed(first);
    assert.ok(name, first);
    assert.match(
      first,
      /^\[APPROVAL REQUIRED\] Calls to 'restart_execution' need approval by a person\. Approval agents\/\S+ is waiting for a decision\. No decision came within 2 seconds\./,
    );
    assert.ok(first.includes(`kubectl mcp-warden approvals approve ${name} -n agents`), first);
    assert.match(first, /call 'restart_execution' again with exactly the same arguments within 10 minutes/);
    await k.decide(name, "Approved");

    const other = text(await alice.callTool({ name: "restart_execution", arguments: { ...a, execution_id: "e-2" } }));
    assert.match(other, /^\[APPROVAL REQUIRED\]/);
    assert.notEqual(approvalNamed(other), name, "other arguments get an approval of their own");

    const retry = (await alice.callTool({
      name: "restart_execution",
      arguments: { execution_id: "e-1", flow_id: "billing", namespace: "prod" },
    })) as ToolResult;
    assert.equal(retry.isError, undefined, text(retry));
    const again = text(await alice.callTool({ name: "restart_execution", arguments: a }));
    assert.match(again, /^\[APPROVAL REQUIRED\]/);
    assert.notEqual(approvalNamed(again), name, "a used approval is never used again");
    assert.equal(callsOf("restart_execution").length, 1, "exactly one call reached the MCP server");
  });

  it("lets an approval expire: after its ttl a retry needs a new one", async () => {
    const args = { namespace: "prod", flow_id: "f", execution_ids: ["e-9"] };
    const name = approvalNamed(text(await alice.callTool({ name: "resume_execution", arguments: args })));
    assert.ok(name);
    await k.decide(name, "Approved");
    await new Promise((r) => setTimeout(r, 3_500)); // the rule's ttl is 3 s
    const late = text(await alice.callTool({ name: "resume_execution", arguments: args }));
    assert.match(late, /^\[APPROVAL REQUIRED\]/);
    assert.notEqual(approvalNamed(late), name);
    assert.equal(callsOf("resume_execution").length, 0);
  });

  it("consumes an approved call's limits when it is forwarded; over the limit, the approval stays unused", async () => {
    const approveAndRetry = async (taskRun: string) => {
      const args = { execution_id: "e-5", task_run_id: taskRun, state: "SUCCESS" };
      const name = approvalNamed(text(await alice.callTool({ name: "change_taskrun_state", arguments: args })));
      assert.ok(name);
      await k.decide(name, "Approved");
      return { name, result: (await alice.callTool({ name: "change_taskrun_state", arguments: args })) as ToolResult };
    };
    const first = await approveAndRetry("t-1");
    assert.equal(first.result.isError, undefined, text(first.result));
    const second = await approveAndRetry("t-2");
    assert.match(
      text(second.result),
      /^\[RATE LIMITED\] Rate limit reached for 'change_taskrun_state': at most 1 call per minute/,
    );
    assert.equal(
      (await k.approvalWhere((a) => a.metadata.name === second.name)).spec.use,
      undefined,
      "usable again once the limit allows, within its ttl",
    );
    assert.equal(callsOf("change_taskrun_state").length, 1);
  });

  it("does not hold a call inside a batch: it is told its approval at once, and the batch passes once approved", async () => {
    const headers = { authorization: `Bearer ${KEYS.alice}` };
    const session = await rawInitialize(h.sidecar.url, headers);
    const batch = [
      toolCall(1, "list_namespaces"),
      toolCall(2, "restart_execution", { namespace: "prod", flow_id: "batch", execution_id: "b-1" }),
    ];
    const first = messagesOf(await rawPost(h.sidecar.url, batch, { ...headers, "mcp-session-id": session }));
    const pending = first.find((m) => m.id === 2) as { result: ToolResult };
    assert.match(text(pending.result), /^\[APPROVAL REQUIRED\]/);
    assert.doesNotMatch(text(pending.result), /No decision came/, "not held");
    await k.decide(approvalNamed(text(pending.result)) as string, "Approved");
    const second = messagesOf(await rawPost(h.sidecar.url, batch, { ...headers, "mcp-session-id": session }));
    assert.equal((second.find((m) => m.id === 2) as { result: ToolResult }).result.isError, undefined);
    assert.equal(callsOf("restart_execution").filter((c) => c.arguments.flow_id === "batch").length, 1);
  });

  it("keeps a stream without a progressToken alive with SSE comments, then relays the upstream's answer on it", async () => {
    const headers = { authorization: `Bearer ${KEYS.alice}` };
    const session = await rawInitialize(h.sidecar.url, headers, "2025-06-18");
    const args = { namespace: "company.team", flow_id: "comments" };
    const answer = rawPost(h.sidecar.url, toolCall(7, "execute_flow", args), {
      ...headers,
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-06-18",
    });
    const approval = await k.approvalWhere((a) => a.spec.argsDigest === argumentsDigest(args));
    await new Promise((r) => setTimeout(r, 600)); // a few keep-alives (every 200 ms here)
    await k.decide(approval.metadata.name, "Approved");
    const done = await answer;
    assert.equal(done.status, 200);
    assert.match(String(done.headers["content-type"]), /^text\/event-stream/);
    assert.ok(
      done.text.includes(`: waiting for approval agents/${approval.metadata.name}\n\n`),
      done.text.slice(0, 300),
    );
    const [message] = messagesOf(done) as Array<{ id: number; result: ToolResult }>;
    assert.equal(message?.id, 7);
    assert.equal(message?.result.isError, undefined);
  });
});

async function assertEventually(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
