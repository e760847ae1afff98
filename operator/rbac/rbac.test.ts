import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { V1PolicyRule } from "@kubernetes/client-node";
import {
  DEFAULT_OPERATOR_NAMES,
  OPERATOR_RBAC_FILE,
  operatorClusterRules,
  operatorNamespaceRules,
  renderOperatorRbac,
  renderOperatorRbacYaml,
} from "./operator-rbac.ts";
import { SIDECAR_ROLE, SIDECAR_RULES, sidecarClusterRole, sidecarRoleBinding } from "./sidecar-rbac.ts";
import { APPROVER_RBAC_FILE, APPROVER_ROLE, approverClusterRole, renderApproverYaml } from "./approver-role.ts";

const root = join(import.meta.dirname, "..", "..");

describe("sidecar RBAC", () => {
  it("lets every service account of the namespace read McpPolicies, request and use McpApprovals and report drift in Events there, and nothing else", () => {
    const role = sidecarClusterRole();
    assert.equal(role.metadata?.name, "mcp-warden-sidecar");
    assert.deepEqual(role.rules, [
      { apiGroups: ["mcpwarden.io"], resources: ["mcppolicies"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["mcpwarden.io"], resources: ["mcpapprovals"], verbs: ["create", "get", "list", "watch", "update"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
    ]);
    assert.ok(
      !JSON.stringify(role.rules).includes("status"),
      "sidecars cannot write any status, so they cannot approve",
    );
    const binding = sidecarRoleBinding("agents");
    assert.equal(
      binding.metadata?.namespace,
      "agents",
      "a RoleBinding: the ClusterRole's rules apply in that namespace only",
    );
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: SIDECAR_ROLE,
    });
    assert.deepEqual(binding.subjects, [
      { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:serviceaccounts:agents" },
    ]);
    assert.equal(binding.metadata?.labels?.["app.kubernetes.io/managed-by"], "mcp-warden");
  });
});

describe("operator RBAC", () => {
  const rules: V1PolicyRule[] = [
    ...operatorClusterRules(DEFAULT_OPERATOR_NAMES),
    ...operatorNamespaceRules(DEFAULT_OPERATOR_NAMES),
  ];

  it("uses no wildcard verbs, resources or API groups", () => {
    for (const rule of rules) {
      for (const value of [...rule.verbs, ...(rule.resources ?? []), ...(rule.apiGroups ?? [])])
        assert.notEqual(value, "*", JSON.stringify(rule));
    }
  });

  it("cannot escalate: no escalate, bind or impersonate, and Secrets only by name (besides creating its own)", () => {
    for (const rule of rules) {
      for (const verb of ["escalate", "bind", "impersonate"])
        assert.ok(!rule.verbs.includes(verb), JSON.stringify(rule));
      if (rule.resources?.includes("secrets") && !(rule.verbs.length === 1 && rule.verbs[0] === "create")) {
        assert.deepEqual(rule.resourceNames, ["mcp-warden-webhook-tls"]);
      }
    }
  });

  it("holds every permission it grants to sidecars (so creating their Role needs no escalate)", () => {
    for (const granted of SIDECAR_RULES) {
      for (const verb of granted.verbs) {
        const held = operatorClusterRules(DEFAULT_OPERATOR_NAMES).some(
          (r) =>
            !r.resourceNames &&
            r.verbs.includes(verb) &&
            granted.resources?.every((res) => r.resources?.includes(res)) &&
            granted.apiGroups?.every((g) => r.apiGroups?.includes(g)),
        );
        assert.ok(held, `operator lacks ${verb} on ${granted.resources?.join(",")}`);
      }
    }
  });

  it("binds the cluster and namespace roles to the operator's service account, and renders the sidecars' ClusterRole", () => {
    const docs = renderOperatorRbac();
    assert.deepEqual(
      docs.map((d) => [d.kind, d.metadata?.name]),
      [
        ["ClusterRole", "mcp-warden-operator"],
        ["ClusterRoleBinding", "mcp-warden-operator"],
        ["Role", "mcp-warden-operator"],
        ["RoleBinding", "mcp-warden-operator"],
        ["ClusterRole", "mcp-warden-sidecar"],
      ],
    );
  });

  it("is checked in as generated (run npm run generate:rbac)", () => {
    assert.equal(readFileSync(join(root, OPERATOR_RBAC_FILE), "utf8"), renderOperatorRbacYaml());
  });
});

describe("approver role", () => {
  it("reads McpApprovals and writes their status, nothing else", () => {
    const role = approverClusterRole();
    assert.equal(role.metadata?.name, APPROVER_ROLE);
    assert.deepEqual(role.rules, [
      { apiGroups: ["mcpwarden.io"], resources: ["mcpapprovals"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["mcpwarden.io"], resources: ["mcpapprovals/status"], verbs: ["get", "update", "patch"] },
    ]);
  });

  it("the operator cannot approve: it holds nothing on mcpapprovals/status", () => {
    for (const rule of operatorClusterRules(DEFAULT_OPERATOR_NAMES))
      assert.ok(!rule.resources?.includes("mcpapprovals/status"), JSON.stringify(rule));
  });

  it("is checked in as generated (run npm run generate:rbac)", () => {
    assert.equal(readFileSync(join(root, APPROVER_RBAC_FILE), "utf8"), renderApproverYaml());
  });
});
