// A real control plane set up for approval tests: both CRDs, the namespace `agents` with the Role the
// operator binds for sidecars, the approver ClusterRole (bound in `agents` for the user ops-alice) and
// the decision policy, and a kubeconfig for the sidecar that authenticates as a pod of `agents` would
// (the `default` service account, with nothing but the sidecar Role).
import assert from "node:assert/strict";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { decideApproval } from "../../cli/approvals-decide.ts";
import { KubeHttp } from "../../kube/http.ts";
import { McpApprovalClient, parseApproval, type McpApprovalObject } from "../../kube/mcp-approvals.ts";
import { MCP_APPROVAL_CRD_FILE } from "../../operator/crd/mcpapproval-crd.ts";
import { MCP_POLICY_CRD_FILE } from "../../operator/crd/mcppolicy-crd.ts";
import { approverClusterRole, approverRoleBinding, decisionPolicy } from "../../operator/rbac/approver-role.ts";
import { sidecarClusterRole, sidecarRoleBinding } from "../../operator/rbac/sidecar-rbac.ts";
import { startControlPlane, type ControlPlane, type Credentials } from "../cluster/harness.ts";
import { eventually } from "../support/eventually.ts";

const root = join(import.meta.dirname, "..", "..");

export interface ApprovalCluster {
  cluster: ControlPlane;
  /** What a sidecar in `agents` authenticates as: system:serviceaccount:agents:default. */
  sidecarKubeConfig: KubeConfig;
  /** ops-alice, bound to mcp-warden-approver in `agents`. */
  approver: Credentials;
  /** ops-bob: authenticated, no RBAC at all. */
  outsider: Credentials;
  admin: McpApprovalClient;
  apply(docs: unknown[]): Promise<void>;
  /** Applies the McpPolicy `name` in `agents` with this spec. */
  applyPolicy(spec: Record<string, unknown>, name?: string): Promise<void>;
  approvals(namespace?: string): Promise<McpApprovalObject[]>;
  /** Waits for an approval matching `match` and returns it. */
  approvalWhere(match: (a: McpApprovalObject) => boolean, namespace?: string): Promise<McpApprovalObject>;
  /** Decides as ops-alice, through the code the CLI runs. */
  decide(name: string, decision: "Approved" | "Denied", reason?: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startApprovalCluster(name: string): Promise<ApprovalCluster> {
  const cluster = await startControlPlane({ name });
  const apply = async (docs: unknown[]) => {
    await cluster.kubectl(["apply", "-f", "-"], { input: docs.map((d) => stringify(d)).join("---\n") });
  };
  try {
    await cluster.kubectl([
      "apply",
      "--server-side",
      "-f",
      join(root, MCP_POLICY_CRD_FILE),
      "-f",
      join(root, MCP_APPROVAL_CRD_FILE),
    ]);
    await cluster.waitForCrds(["mcppolicies.mcpwarden.io", "mcpapprovals.mcpwarden.io"]);
    await cluster.createNamespace("agents");
    await cluster.createNamespace("elsewhere", { waitForDefaultServiceAccount: false });
    await apply([
      sidecarClusterRole(),
      sidecarRoleBinding("agents"),
      approverClusterRole(),
      approverRoleBinding("agents", [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "ops-alice" }]),
      ...decisionPolicy(),
    ]);
    const sidecar = await cluster.serviceAccountCredentials("agents", "default");
    const approver = await cluster.userCredentials("ops-alice");
    const outsider = await cluster.userCredentials("ops-bob");
    const admin = new McpApprovalClient(new KubeHttp(cluster.kubeConfig));
    const list = async (namespace = "agents") =>
      (await admin.list(namespace)).flatMap((raw) => {
        const parsed = parseApproval(raw);
        return parsed.ok ? [parsed.approval] : [];
      });
    return {
      cluster,
      sidecarKubeConfig: sidecar.kubeConfig,
      approver,
      outsider,
      admin,
      apply,
      applyPolicy: (spec, policyName = "kestra") =>
        apply([
          {
            apiVersion: "mcpwarden.io/v1alpha1",
            kind: "McpPolicy",
            metadata: { name: policyName, namespace: "agents" },
            spec,
          },
        ]),
      approvals: list,
      async approvalWhere(match, namespace) {
        let found: McpApprovalObject | undefined;
        await eventually(
          async () => {
            found = (await list(namespace)).find(match);
            assert.ok(found, "no matching McpApproval yet");
          },
          { timeoutMs: 30_000 },
        );
        return found as McpApprovalObject;
      },
      async decide(approvalName, decision, reason) {
        await decideApproval(new KubeHttp(approver.kubeConfig), {
          namespace: "agents",
          name: approvalName,
          decision,
          reason,
        });
      },
      stop: () => cluster.stop(),
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
