// The McpApproval CRD on a real API server: accepted as structural, printed with its columns, and
// its CEL rules enforced at write time: the request an approval is for never changes, its one use is
// recorded once, a decision is final, and status cannot be smuggled in at creation.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { KubeHttp } from "../../kube/http.ts";
import { McpApprovalClient, parseApproval, type McpApprovalObject } from "../../kube/mcp-approvals.ts";
import { MCP_APPROVAL_CRD_FILE } from "../../operator/crd/mcpapproval-crd.ts";
import { KubectlError, startControlPlane, type ControlPlane } from "../cluster/harness.ts";

const root = join(import.meta.dirname, "..", "..");
const DIGEST = "a".repeat(64);

function approvalManifest(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Date.now();
  return {
    apiVersion: "mcpwarden.io/v1alpha1",
    kind: "McpApproval",
    metadata: { name, namespace: "agents", labels: { "mcpwarden.io/policy": "kestra" } },
    spec: {
      policy: "kestra",
      policyGeneration: 1,
      tool: "resume_execution",
      caller: "alice",
      session: "0123456789abcdef",
      argsDigest: DIGEST,
      args: '{"execution_ids":["e1"]}',
      waitUntil: new Date(now + 60_000).toISOString(),
      expiresAt: new Date(now + 600_000).toISOString(),
    },
    ...extra,
  };
}

describe("McpApproval CRD on a real API server", () => {
  let cluster: ControlPlane;
  let approvals: McpApprovalClient;
  const apply = (doc: unknown) => cluster.kubectl(["apply", "-f", "-"], { input: stringify(doc) });
  const rejected = async (run: () => Promise<unknown>, message: RegExp) => {
    await assert.rejects(run, (err: unknown) => {
      const text = err instanceof KubectlError ? err.stderr : (err as Error).message;
      assert.match(text, message);
      return true;
    });
  };
  const read = async (name: string): Promise<McpApprovalObject> => {
    const parsed = parseApproval(await approvals.get("agents", name));
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.problem);
    return parsed.approval;
  };

  before(async () => {
    cluster = await startControlPlane({ name: "approval-crd" });
    await cluster.kubectl(["apply", "--server-side", "-f", join(root, MCP_APPROVAL_CRD_FILE)]);
    await cluster.waitForCrds(["mcpapprovals.mcpwarden.io"]);
    await cluster.createNamespace("agents", { waitForDefaultServiceAccount: false });
    approvals = new McpApprovalClient(new KubeHttp(cluster.kubeConfig));
  });
  after(async () => {
    await cluster?.stop();
  });

  it("ignores a status sent at creation (decisions only go through the status subresource)", async () => {
    await apply(
      approvalManifest("smuggled", {
        status: { decision: "Approved", decidedBy: "mallory", decidedAt: new Date().toISOString() },
      }),
    );
    const stored = await read("smuggled");
    assert.equal(stored.status, undefined);
  });

  it("prints Tool, Caller, Decision and Age, and more with -o wide", async () => {
    await apply(approvalManifest("printed"));
    const table = (await cluster.kubectl(["get", "mcpa", "printed", "-n", "agents"])).stdout;
    assert.match(table.split("\n")[0] ?? "", /^NAME\s+TOOL\s+CALLER\s+DECISION\s+AGE\s*$/);
    assert.match(table, /printed\s+resume_execution\s+alice\s+\d+s/, "an undecided approval shows an empty decision");
    const wide = (await cluster.kubectl(["get", "mcpa", "printed", "-n", "agents", "-o", "wide"])).stdout;
    assert.match(wide.split("\n")[0] ?? "", /POLICY\s+DECIDED-BY\s+USED\s+EXPIRES/);
    const category = (await cluster.kubectl(["get", "mcp-warden", "-n", "agents"])).stdout;
    assert.match(category, /^printed\s+resume_execution/m, "listed by the mcp-warden category");
  });

  it("refuses any change to the request: tool, caller, digest, arguments, session, times", async () => {
    await apply(approvalManifest("fixed"));
    for (const patch of [
      { spec: { tool: "force_run_execution" } },
      { spec: { caller: "bob" } },
      { spec: { argsDigest: "b".repeat(64) } },
      { spec: { args: "{}" } },
      { spec: { session: "fedcba9876543210" } },
      { spec: { session: null } },
      { spec: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() } },
      { spec: { policyGeneration: 2 } },
    ]) {
      await rejected(
        () => cluster.kubectl(["patch", "mcpa", "fixed", "-n", "agents", "--type=merge", "-p", JSON.stringify(patch)]),
        /the request an approval is for cannot change/,
      );
    }
    assert.equal((await read("fixed")).spec.tool, "resume_execution");
  });

  it("records the use once: it can be added, never changed or removed", async () => {
    await apply(approvalManifest("used-once"));
    const use = { at: new Date().toISOString(), by: "kestra-0", via: "Kubernetes" };
    await cluster.kubectl([
      "patch",
      "mcpa",
      "used-once",
      "-n",
      "agents",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { use } }),
    ]);
    assert.deepEqual((await read("used-once")).spec.use, use);
    await rejected(
      () =>
        cluster.kubectl([
          "patch",
          "mcpa",
          "used-once",
          "-n",
          "agents",
          "--type=merge",
          "-p",
          JSON.stringify({ spec: { use: { ...use, by: "kestra-1" } } }),
        ]),
      /cannot change or be removed/,
    );
    await rejected(
      () =>
        cluster.kubectl([
          "patch",
          "mcpa",
          "used-once",
          "-n",
          "agents",
          "--type=merge",
          "-p",
          JSON.stringify({ spec: { use: null } }),
        ]),
      /cannot change or be removed/,
    );
  });

  it("keeps a decision final and complete, and a write on a stale resourceVersion fails", async () => {
    await apply(approvalManifest("decided"));
    const stale = await read("decided");
    await rejected(
      () =>
        cluster.kubectl([
          "patch",
          "mcpa",
          "decided",
          "-n",
          "agents",
          "--subresource=status",
          "--type=merge",
          "-p",
          JSON.stringify({ status: { decision: "Approved" } }),
        ]),
      /decision, decidedBy and decidedAt are set together/,
    );
    const status = { decision: "Approved", decidedBy: "alice", decidedAt: new Date().toISOString(), reason: "ok" };
    await approvals.replaceStatus({ ...stale, status } as McpApprovalObject);
    assert.deepEqual((await read("decided")).status, status);
    await rejected(
      () => approvals.replaceStatus({ ...stale, status: { ...status, decision: "Denied" } }),
      /409|Conflict|modified/,
    );
    await rejected(
      () =>
        cluster.kubectl([
          "patch",
          "mcpa",
          "decided",
          "-n",
          "agents",
          "--subresource=status",
          "--type=merge",
          "-p",
          JSON.stringify({ status: { decision: "Denied" } }),
        ]),
      /a decision is final/,
    );
    await rejected(
      () =>
        cluster.kubectl([
          "patch",
          "mcpa",
          "decided",
          "-n",
          "agents",
          "--subresource=status",
          "--type=merge",
          "-p",
          JSON.stringify({ status: { reason: "changed my mind" } }),
        ]),
      /a decision is final/,
    );
  });

  it("validates the request's shape: digest, session fingerprint, times, sizes", async () => {
    for (const [spec, message] of [
      [{ argsDigest: "not-a-digest" }, /argsDigest/],
      [{ session: "raw-session-id-not-a-fingerprint" }, /session/],
      [{ expiresAt: "tomorrow" }, /expiresAt/],
      [{ args: "x".repeat(5000) }, /args/],
      [{ policyGeneration: 0 }, /policyGeneration/],
    ] as const) {
      const doc = approvalManifest("bad");
      Object.assign(doc.spec as object, spec);
      await rejected(() => apply(doc), message);
    }
  });
});
