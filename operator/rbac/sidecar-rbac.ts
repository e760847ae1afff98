// What the sidecars of an opted-in namespace may do with the API, as the operator renders it into
// each such namespace: read McpPolicies there (the sidecar watches its own), and request and use
// McpApprovals: create them, watch them, and record an approval's one use in spec.use (update; the
// CRD's rules let nothing else change). Nothing on mcpapprovals/status: a sidecar (or any other pod
// of the namespace) cannot approve. The subject is every service account of the namespace, because
// sidecars run as their pod's service account, whichever it is.
import type { V1PolicyRule, V1Role, V1RoleBinding } from "@kubernetes/client-node";
import { API_GROUP } from "../../policy/schema.ts";
import { MANAGED_BY_LABELS } from "../names.ts";
import { MCP_POLICY_PLURAL } from "../crd/mcppolicy-crd.ts";
import { APPROVAL_PLURAL } from "../../policy/approval/schema.ts";

export const SIDECAR_ROLE = "mcp-warden-sidecar";

export const SIDECAR_RULES: V1PolicyRule[] = [
  { apiGroups: [API_GROUP], resources: [MCP_POLICY_PLURAL], verbs: ["get", "list", "watch"] },
  { apiGroups: [API_GROUP], resources: [APPROVAL_PLURAL], verbs: ["create", "get", "list", "watch", "update"] },
];

export function sidecarRole(namespace: string): V1Role {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: SIDECAR_ROLE, namespace, labels: { ...MANAGED_BY_LABELS } },
    rules: structuredClone(SIDECAR_RULES),
  };
}

export function sidecarRoleBinding(namespace: string): V1RoleBinding {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: SIDECAR_ROLE, namespace, labels: { ...MANAGED_BY_LABELS } },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: SIDECAR_ROLE },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: `system:serviceaccounts:${namespace}` }],
  };
}
