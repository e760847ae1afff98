// What the sidecars of an opted-in namespace may do with the API: read McpPolicies there (the
// sidecar watches its own), and request and use McpApprovals: create them, watch them, and record an
// approval's one use in spec.use (update; the CRD's rules let nothing else change), and report tool
// definition drift as Events on their McpPolicy (create, patch). Nothing on
// mcpapprovals/status: a sidecar (or any other pod of the namespace) cannot approve. One ClusterRole
// holds the rules (the chart installs it, and operator-rbac.yaml renders it); the operator binds it
// in each opted-in namespace with a RoleBinding, so the grant never reaches beyond that namespace.
// The subject is every service account of the namespace, because sidecars run as their pod's service
// account, whichever it is. The operator holds every verb here, since it binds them.
import type { V1ClusterRole, V1PolicyRule, V1RoleBinding } from "@kubernetes/client-node";
import { API_GROUP } from "../../policy/schema.ts";
import { MANAGED_BY_LABELS } from "../names.ts";
import { MCP_POLICY_PLURAL } from "../crd/mcppolicy-crd.ts";
import { APPROVAL_PLURAL } from "../../policy/approval/schema.ts";

/** The sidecars' ClusterRole and, in each opted-in namespace, the RoleBinding to it. */
export const SIDECAR_ROLE = "mcp-warden-sidecar";

export const SIDECAR_RULES: V1PolicyRule[] = [
  { apiGroups: [API_GROUP], resources: [MCP_POLICY_PLURAL], verbs: ["get", "list", "watch"] },
  { apiGroups: [API_GROUP], resources: [APPROVAL_PLURAL], verbs: ["create", "get", "list", "watch", "update"] },
  // The tool definition drift report: one Event per pod on its McpPolicy, rewritten in place (ADR 0133).
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
];

export function sidecarClusterRole(): V1ClusterRole {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: SIDECAR_ROLE, labels: { ...MANAGED_BY_LABELS } },
    rules: structuredClone(SIDECAR_RULES),
  };
}

export function sidecarRoleBinding(namespace: string): V1RoleBinding {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: SIDECAR_ROLE, namespace, labels: { ...MANAGED_BY_LABELS } },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: SIDECAR_ROLE },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: `system:serviceaccounts:${namespace}` }],
  };
}
