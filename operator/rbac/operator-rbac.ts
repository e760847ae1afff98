// The operator's own permissions, written down: least privilege, no wildcards, names pinned with
// resourceNames wherever the API allows it (create, list and watch cannot be pinned by name, except
// list/watch with a metadata.name field selector). The chart installs what this renders;
// operator/rbac/operator-rbac.yaml is the rendering for the default names, checked by a test.
import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { API_GROUP } from "../../policy/schema.ts";
import { MCP_POLICY_PLURAL } from "../crd/mcppolicy-crd.ts";
import { APPROVAL_PLURAL } from "../../policy/approval/schema.ts";
import { MANAGED_BY_LABELS } from "../names.ts";
import { SIDECAR_ROLE, sidecarClusterRole } from "./sidecar-rbac.ts";

export interface OperatorRbacNames {
  namespace: string;
  serviceAccount: string;
  /** ClusterRole, Role, their bindings, and the leader-election Lease. */
  name: string;
  webhookConfiguration: string;
  webhookSecret: string;
}

export const DEFAULT_OPERATOR_NAMES: OperatorRbacNames = {
  namespace: "mcp-warden",
  serviceAccount: "mcp-warden-operator",
  name: "mcp-warden-operator",
  webhookConfiguration: "mcp-warden-injector",
  webhookSecret: "mcp-warden-webhook-tls",
};

export function operatorClusterRules(names: OperatorRbacNames): V1PolicyRule[] {
  return [
    // Status of McpPolicies; the webhook's policy cache.
    { apiGroups: [API_GROUP], resources: [MCP_POLICY_PLURAL], verbs: ["get", "list", "watch"] },
    { apiGroups: [API_GROUP], resources: [`${MCP_POLICY_PLURAL}/status`], verbs: ["get", "patch", "update"] },
    // McpApprovals: watched for metrics and Events, deleted once expired. create and update are
    // here only because the sidecars' Role grants them (the API server lets the operator grant only
    // what it holds); the operator never writes approvals' status, so it cannot approve.
    {
      apiGroups: [API_GROUP],
      resources: [APPROVAL_PLURAL],
      verbs: ["get", "list", "watch", "delete", "create", "update"],
    },
    // Which pods run the sidecar; which namespaces opted in.
    { apiGroups: [""], resources: ["pods", "namespaces"], verbs: ["list", "watch"] },
    // Events on McpPolicies, pods and their controllers; the sidecars' drift reports are read (ADR 0133).
    { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "list", "watch"] },
    // The RoleBinding of the sidecars' ClusterRole in each opted-in namespace (the operator holds
    // every permission that role grants, so no escalate or bind verbs are needed).
    { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings"], verbs: ["create"] },
    {
      apiGroups: ["rbac.authorization.k8s.io"],
      resources: ["rolebindings"],
      resourceNames: [SIDECAR_ROLE],
      verbs: ["get", "update", "patch", "delete"],
    },
    // The caBundle of its own MutatingWebhookConfiguration (watched by name, to correct it at once).
    {
      apiGroups: ["admissionregistration.k8s.io"],
      resources: ["mutatingwebhookconfigurations"],
      resourceNames: [names.webhookConfiguration],
      verbs: ["get", "list", "watch", "patch"],
    },
  ];
}

export function operatorNamespaceRules(names: OperatorRbacNames): V1PolicyRule[] {
  return [
    // The webhook's CA and serving certificate, shared by the replicas.
    { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
    {
      apiGroups: [""],
      resources: ["secrets"],
      resourceNames: [names.webhookSecret],
      verbs: ["get", "list", "watch", "update", "patch"],
    },
    // Leader election.
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: [names.name],
      verbs: ["get", "update", "patch"],
    },
  ];
}

/** The operator's roles and bindings, then the sidecars' ClusterRole it binds per namespace. */
export function renderOperatorRbac(
  names: OperatorRbacNames = DEFAULT_OPERATOR_NAMES,
): Array<V1ClusterRole | V1ClusterRoleBinding | V1Role | V1RoleBinding> {
  const labels = { ...MANAGED_BY_LABELS };
  const subject = { kind: "ServiceAccount", name: names.serviceAccount, namespace: names.namespace };
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: names.name, labels },
      rules: operatorClusterRules(names),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: names.name, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: names.name },
      subjects: [subject],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: names.name, namespace: names.namespace, labels },
      rules: operatorNamespaceRules(names),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: names.name, namespace: names.namespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: names.name },
      subjects: [subject],
    },
    sidecarClusterRole(),
  ];
}

export const OPERATOR_RBAC_FILE = "operator/rbac/operator-rbac.yaml";

export function renderOperatorRbacYaml(names: OperatorRbacNames = DEFAULT_OPERATOR_NAMES): string {
  const header =
    "# Generated by scripts/generate-rbac.ts (npm run generate:rbac) from operator/rbac/operator-rbac.ts. Do not edit.\n";
  return (
    header +
    renderOperatorRbac(names)
      .map((doc) => stringify(doc, { lineWidth: 0 }))
      .join("---\n")
  );
}
