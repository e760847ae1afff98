// Approval by the person at the client (MCP elicitation), with the TypeScript SDK's client answering
// `elicitation/create` as an application would: accept, decline, an error; a client that never
// declared the capability falls back to Kubernetes approval; with `via: both` the first decision
// wins and the McpApproval records how the call was approved.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  ElicitRequestSchema,
  ErrorCode,
  McpError,
  type ElicitRequest,
  type ElicitResult,
} from "@modelcontextprotocol/sdk/types.js";
import { DecisionError } from "../../cli/approvals-decide.ts";
import { argumentsDigest } from "../../policy/approval/binding.ts";
import { KEYS, startHarness, type Harness } from "../support/sidecar-harness.ts";
import { startApprovalCluster, type ApprovalCluster } from "./fixture.ts";

const SPEC = {
  default: "deny",
  tools: [
    { name: "execute_flow", action: "approve", approval: { via: "elicitation", timeout: "30s" } },
    { name: "restart_execution", action: "approve", approval: { via: "both", timeout: "30s" } },
  ],
};

type ToolResult = { isError?: boolean; content: { text: string }[]; _meta?: Record<string, { reason: string }> };
const text = (r: unknown) => (r as ToolResult).content[0]?.text ?? "";
type Handler = (request: ElicitRequest, signal: AbortSignal) => Promise<ElicitResult>;

describe("approval at the client with elicitation (real kube-apiserver for the fallback)", { timeout: 240_000 }, () => {
  let k: ApprovalCluster;
  let h: Harness;
  let alice: Client;
  let answer: Handler = () => Promise.resolve({ action: "decline" });
  const questions: ElicitRequest[] = [];
  const callsOf = (tool: string) => h.upstream.calls.filter((c) => c.tool === tool);

  before(async () => {
    k = await startApprovalCluster("approvals-elicitation");
    await k.applyPolicy(SPEC);
    h = await startHarness({
      policy: "-",
      config: { policy: "k8s://agents/kestra" },
      sidecar: { kubeConfig: k.sidecarKubeConfig, podName: "kestra-0" },
    });
    alice = await h.client(KEYS.alice, { capabilities: { elicitation: {} } });
    alice.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
      questions.push(request);
      return answer(request, extra.signal);
    });
  });
  after(async () => {
    await h?.close();
    await k?.stop();
  });

  it("asks the person at the client and forwards on acceptance, without any McpApproval", async () => {
    answer = () => Promise.resolve({ action: "accept", content: { approve: true } });
    const args = { namespace: "company.team", flow_id: "asked" };
    const result = (await alice.callTool({ name: "execute_flow", arguments: args })) as ToolResult;
    assert.equal(result.isError, undefined, text(result));
    assert.deepEqual(
      callsOf("execute_flow").map((c) => c.arguments),
      [args],
    );
    const question = questions.at(-1)?.params as {
      message: string;
      requestedSchema: { properties: Record<string, { type: string }> };
    };
    assert.match(
      question.message,
      /The agent wants to call 'execute_flow' with the arguments \{"flow_id":"asked","namespace":"company.team"\}\. Policy agents\/kestra needs a person to approve this call\./,
    );
    assert.equal(question.requestedSchema.properties.approve?.type, "boolean");
    assert.equal((await k.approvals()).length, 0, "elicitation alone needs no McpApproval");
    const audit = h.logs.auditLines.find((l) => l.tool === "execute_flow");
    assert.deepEqual(
      [audit?.reason, audit?.approval],
      ["approved", { name: null, via: "Elicitation", decidedBy: "apikey:alice (at the client)" }],
    );
  });

  it("denies on decline, and on an unticked box with the person's reason", async () => {
    answer = () => Promise.resolve({ action: "decline" });
    const declined = (await alice.callTool({
      name: "execute_flow",
      arguments: { namespace: "n", flow_id: "declined" },
    })) as ToolResult;
    assert.equal(
      text(declined),
      "[POLICY DENIED] The call to 'execute_flow' was denied by apikey:alice (at the client): declined at the client. Do not retry it with these arguments.",
    );
    assert.equal(declined._meta?.["mcpwarden.io/decision"]?.reason, "approval_denied");
    answer = () => Promise.resolve({ action: "accept", content: { approve: false, reason: "wrong namespace" } });
    const unticked = (await alice.callTool({
      name: "execute_flow",
      arguments: { namespace: "n", flow_id: "unticked" },
    })) as ToolResult;
    assert.match(text(unticked), /^\[POLICY DENIED\] .*: wrong namespace/);
    assert.equal(callsOf("execute_flow").filter((c) => c.arguments.namespace === "n").length, 0);
  });

  it("falls back to Kubernetes approval for a client without elicitation, or one that cannot show the question", async () => {
    const bob = await h.client(KEYS.bob);
    const args = { namespace: "company.team", flow_id: "no-elicitation" };
    const pending = bob.callTool({ name: "execute_flow", arguments: args }, undefined, { timeout: 60_000 });
    const approval = await k.approvalWhere(
      (a) => a.spec.caller === "apikey:bob" && a.spec.argsDigest === argumentsDigest(args),
    );
    await k.decide(approval.metadata.name, "Approved");
    assert.equal(((await pending) as ToolResult).isError, undefined);

    answer = () => Promise.reject(new McpError(ErrorCode.InvalidParams, "this client cannot show forms"));
    const failing = { namespace: "company.team", flow_id: "client-error" };
    const afterError = alice.callTool({ name: "execute_flow", arguments: failing }, undefined, { timeout: 60_000 });
    const fallback = await k.approvalWhere(
      (a) => a.spec.caller === "apikey:alice" && a.spec.argsDigest === argumentsDigest(failing),
    );
    await k.decide(fallback.metadata.name, "Approved");
    assert.equal(((await afterError) as ToolResult).isError, undefined);
    assert.equal(callsOf("execute_flow").filter((c) => c.arguments.namespace === "company.team").length, 3);
  });

  it("with via both: a Kubernetes decision wins over an open question, which is withdrawn at the client", async () => {
    let withdrawn: Promise<boolean> | undefined;
    answer = (_request, signal) => {
      withdrawn = new Promise((resolve) => signal.addEventListener("abort", () => resolve(true), { once: true }));
      return new Promise(() => undefined); // the person never answers
    };
    const args = { execution_id: "both-1", namespace: "prod", flow_id: "f" };
    const pending = alice.callTool({ name: "restart_execution", arguments: args }, undefined, { timeout: 60_000 });
    const approval = await k.approvalWhere((a) => a.spec.argsDigest === argumentsDigest(args));
    await waitFor(() => withdrawn !== undefined);
    await k.decide(approval.metadata.name, "Approved");
    assert.equal(((await pending) as ToolResult).isError, undefined);
    assert.equal(await withdrawn, true, "the client got notifications/cancelled for the question");
    assert.equal(
      (await k.approvalWhere((a) => a.metadata.name === approval.metadata.name)).spec.use?.via,
      "Kubernetes",
    );
  });

  it("with via both: an answer at the client wins, and its McpApproval records the use so it can never run again", async () => {
    answer = () => Promise.resolve({ action: "accept", content: { approve: true } });
    const args = { execution_id: "both-2", namespace: "prod", flow_id: "f" };
    assert.equal(
      ((await alice.callTool({ name: "restart_execution", arguments: args })) as ToolResult).isError,
      undefined,
    );
    const approval = await k.approvalWhere((a) => a.spec.argsDigest === argumentsDigest(args));
    assert.deepEqual(
      { via: approval.spec.use?.via, by: approval.spec.use?.by, decision: approval.status?.decision },
      { via: "Elicitation", by: "kestra-0", decision: undefined },
    );
    await assert.rejects(
      k.decide(approval.metadata.name, "Approved"),
      (e: unknown) => e instanceof DecisionError && /already used .*approved at the client/.test(e.message),
    );
    assert.equal(callsOf("restart_execution").filter((c) => c.arguments.execution_id === "both-2").length, 1);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
