// `mcp-warden approvals list | approve | deny` as a person runs them (the real command in a child
// process) against a real API server, with kubectl's flags, as users with and without the
// mcp-warden-approver role.
import assert from "node:assert/strict";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../cli/testing.ts";
import { runPeer } from "../support/processes.ts";
import { KubeHttp } from "../../kube/http.ts";
import { McpApprovalClient } from "../../kube/mcp-approvals.ts";
import { startApprovalCluster, type ApprovalCluster } from "./fixture.ts";

const PLUGIN = join(import.meta.dirname, "..", "..", "cli", "bin", "kubectl-mcp_warden");

// Each run starts the CLI afresh (Node with type stripping and client-node: seconds on a loaded
// machine), so the runs are few and the timeout generous.
describe("mcp-warden approvals (real kube-apiserver)", { timeout: 600_000 }, () => {
  let k: ApprovalCluster;
  let approverInAgents: string;
  const request = async (name: string, args: string, expireMs = 600_000) => {
    const now = Date.now();
    await new McpApprovalClient(new KubeHttp(k.sidecarKubeConfig)).create("agents", {
      metadata: { name, labels: { "mcpwarden.io/policy": "kestra" } },
      spec: {
        policy: "kestra",
        policyGeneration: 3,
        tool: "execute_flow",
        caller: "alice",
        argsDigest: "e".repeat(64),
        args,
        waitUntil: new Date(now + 60_000).toISOString(),
        expiresAt: new Date(now + expireMs).toISOString(),
      },
    });
  };
  const as = (kubeconfig: string, ...args: string[]) => runCli("approvals", ...args, "--kubeconfig", kubeconfig);

  before(async () => {
    k = await startApprovalCluster("approvals-cli");
    await request("nightly-run", '{"flow_id":"nightly","namespace":"company.team"}');
    await request("drop-tables", '{"flow_id":"drop","namespace":"prod"}');
    await request("decide-me", '{"flow_id":"x"}');
    // A kubeconfig whose context defaults to namespace agents, as `kubectl config set-context` leaves it.
    approverInAgents = join(k.cluster.dir, "approver-in-agents.kubeconfig");
    await copyFile(k.approver.kubeconfigPath, approverInAgents);
    await k.cluster.kubectl([
      "config",
      "set-context",
      "--current",
      "--namespace=agents",
      "--kubeconfig",
      approverInAgents,
    ]);
  });
  after(async () => {
    await k?.stop();
  });

  it("lists approvals like kubectl: the context's namespace, -n, -o wide, -o json, --pending", async () => {
    const listed = await as(approverInAgents, "list");
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^NAME\s+TOOL\s+CALLER\s+STATE\s+AGE\s+EXPIRES$/);
    assert.match(listed.stdout, /nightly-run\s+execute_flow\s+alice\s+Pending\s+\d+s\s+in (9|10)m/);
    const wide = await as(k.approver.kubeconfigPath, "list", "-n", "agents", "-o", "wide");
    assert.match(wide.stdout, /POLICY\s+DECIDED-BY\s+ARGS/);
    assert.ok(wide.stdout.includes('{"flow_id":"drop","namespace":"prod"}'));
    const json = JSON.parse((await as(k.approver.kubeconfigPath, "list", "-n", "agents", "-o", "json")).stdout) as {
      items: Array<{ metadata: { name: string } }>;
    };
    assert.deepEqual(json.items.map((i) => i.metadata.name).sort(), ["decide-me", "drop-tables", "nightly-run"]);
    const empty = await as(k.cluster.adminKubeconfigPath, "list");
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stderr, /No McpApprovals found in namespace default\./);
    const all = await as(k.cluster.adminKubeconfigPath, "list", "-A");
    assert.match(all.stdout.split("\n")[0] ?? "", /^NAMESPACE\s+NAME/);
  });

  it("approves as the user the API server authenticates, and refuses a second decision", async () => {
    const approved = await as(approverInAgents, "approve", "nightly-run", "--reason", "scheduled maintenance");
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal(
      approved.stdout.split("\n")[0],
      'mcpapproval.mcpwarden.io/nightly-run approved by ops-alice: alice may call execute_flow with {"flow_id":"nightly","namespace":"company.team"}',
    );
    const stored = await k.approvalWhere((a) => a.metadata.name === "nightly-run");
    assert.deepEqual(
      [stored.status?.decision, stored.status?.decidedBy, stored.status?.reason],
      ["Approved", "ops-alice", "scheduled maintenance"],
    );
    const again = await as(approverInAgents, "deny", "nightly-run", "--reason", "changed my mind");
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /^error: McpApproval agents\/nightly-run cannot be decided: it was already approved by ops-alice at \S+ \(scheduled maintenance\)/,
    );
    const pending = JSON.parse((await as(approverInAgents, "list", "--pending", "-o", "json")).stdout) as {
      items: Array<{ metadata: { name: string } }>;
    };
    assert.ok(
      !pending.items.some((i) => i.metadata.name === "nightly-run") &&
        pending.items.some((i) => i.metadata.name === "decide-me"),
      "--pending leaves out what was decided",
    );
  });

  it("denies with a reason, which is required", async () => {
    const noReason = await as(approverInAgents, "deny", "drop-tables");
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /approvals deny needs --reason: the agent is told why/);
    const denied = await as(approverInAgents, "deny", "drop-tables", "--reason", "never in prod");
    assert.equal(denied.code, 0, denied.stderr);
    assert.equal((await k.approvalWhere((a) => a.metadata.name === "drop-tables")).status?.reason, "never in prod");
  });

  it("tells people without the approver role what they need, and names what does not exist", async () => {
    const outsider = await as(k.outsider.kubeconfigPath, "approve", "decide-me", "-n", "agents");
    assert.equal(outsider.code, 1);
    assert.match(
      outsider.stderr,
      /^error: you may not read McpApprovals in namespace agents \(.*403.*\); approvers need the ClusterRole mcp-warden-approver there/,
    );
    const listing = await as(k.outsider.kubeconfigPath, "list", "-n", "agents");
    assert.equal(listing.code, 1);
    assert.match(listing.stderr, /may not list McpApprovals in namespace agents/);
    const missing = await as(approverInAgents, "approve", "nope");
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /there is no McpApproval agents\/nope \(list them with: mcp-warden approvals list -n agents\)/,
    );
    assert.equal((await k.approvalWhere((a) => a.metadata.name === "decide-me")).status, undefined);
  });

  it("runs as the kubectl plugin (cli/bin/kubectl-mcp_warden), its hints naming it so", async () => {
    const plugin = (...args: string[]) => runPeer(PLUGIN, ["approvals", ...args], { timeoutMs: 120_000 });
    const usage = await plugin("deny", "decide-me");
    assert.equal(usage.code, 2);
    assert.match(
      usage.stderr,
      /^kubectl mcp-warden: approvals deny needs --reason: the agent is told why\nusage: kubectl mcp-warden approvals deny NAME --reason TEXT/,
    );
    const missing = await plugin("approve", "nope", "--kubeconfig", approverInAgents);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /there is no McpApproval agents\/nope \(list them with: kubectl mcp-warden approvals list -n agents\)/,
    );
    const listed = await plugin("list", "--kubeconfig", approverInAgents, "-o", "json");
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as { items: unknown[] }).items.length >= 3);
  });

  it("is part of the mcp-warden command's usage", async () => {
    const help = await runCli("--help");
    for (const line of [
      "mcp-warden approvals list",
      "mcp-warden approvals approve NAME",
      "mcp-warden approvals deny NAME --reason TEXT",
    ])
      assert.ok(help.stdout.includes(line), line);
    const usage = await runCli("approvals", "approve");
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /approvals approve needs exactly one approval NAME/);
  });
});
