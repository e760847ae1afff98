import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { age, renderTable, reportPolicy, type PolicyObject } from "./status-report.ts";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const condition = (
  type: string,
  status: "True" | "False",
  reason: string,
  message: string,
  observedGeneration = 2,
) => ({
  type,
  status,
  reason,
  message,
  observedGeneration,
  lastTransitionTime: "2026-06-01T11:00:00Z",
});
const policy = (overrides: Partial<PolicyObject> = {}): PolicyObject => ({
  metadata: { name: "kestra", namespace: "agents", generation: 2, creationTimestamp: "2026-06-01T11:55:00Z" },
  spec: { mode: "Enforce", default: "deny" },
  status: {
    observedGeneration: 2,
    selectedPods: 3,
    enforcedPods: 1,
    unguardedPods: ["kestra-mcp-6f9c-abcde", "kestra-mcp-6f9c-fghij"],
    conditions: [
      condition("Ready", "True", "Accepted", "Policy compiled (digest 1a2b); 1 of 3 selected pods enforce it."),
      condition("PodsEnforced", "False", "PodsWithoutSidecar", "2 selected pods run without the sidecar …"),
    ],
  },
  ...overrides,
});
const FIX = "kubectl rollout restart deployment/kestra-mcp -n agents";

describe("status report", () => {
  it("takes Ready, the counts and the pods to fix from the operator's status", () => {
    const report = reportPolicy(policy(), [
      { name: "kestra-mcp-6f9c-abcde", fix: FIX },
      { name: "kestra-mcp-6f9c-fghij", fix: FIX },
    ]);
    assert.deepEqual(report.ready, {
      status: "True",
      reason: "Accepted",
      message: "Policy compiled (digest 1a2b); 1 of 3 selected pods enforce it.",
    });
    assert.deepEqual(
      [report.selectedPods, report.enforcedPods, report.mode, report.default, report.createdAt],
      [3, 1, "Enforce", "deny", "2026-06-01T11:55:00.000Z"],
    );
    assert.equal(report.podsMessage, "2 selected pods run without the sidecar …");
  });

  it("says Unknown when the operator has not reported, or not on the current generation", () => {
    assert.deepEqual(reportPolicy(policy({ status: undefined }), []).ready.reason, "NoStatus");
    const stale = reportPolicy(policy({ metadata: { name: "kestra", namespace: "agents", generation: 3 } }), []);
    assert.equal(stale.ready.status, "Unknown");
    assert.equal(stale.ready.reason, "Pending");
    assert.match(stale.ready.message, /not processed generation 3 yet \(its status is for generation 2\)/);
    assert.deepEqual([stale.selectedPods, stale.createdAt], [3, null]);
  });

  it("prints kubectl's columns, then each pod without the sidecar with its fix", () => {
    const text = renderTable(
      [
        reportPolicy(policy(), [
          { name: "kestra-mcp-6f9c-abcde", fix: FIX },
          { name: "kestra-mcp-6f9c-fghij", fix: undefined },
        ]),
      ],
      { allNamespaces: false, now: NOW },
    );
    assert.equal(
      text,
      [
        "NAME     MODE      DEFAULT   READY   REASON     SELECTED   ENFORCED   AGE",
        "kestra   Enforce   deny      True    Accepted   3          1          5m",
        "",
        "kestra: 2 of 3 selected pods run without the sidecar; the fix:",
        `  kestra-mcp-6f9c-abcde   ${FIX}`,
        "  kestra-mcp-6f9c-fghij   (the pod could not be read)",
        "  operator: 2 selected pods run without the sidecar …",
        "",
      ].join("\n"),
    );
  });

  it("adds the namespace with -A, reports policies that are not ready, and counts pods the status could not name", () => {
    const broken = policy({
      metadata: { name: "broken", namespace: "team-b", generation: 1, creationTimestamp: "2026-05-30T12:00:00Z" },
      status: {
        observedGeneration: 1,
        conditions: [
          condition("Ready", "False", "InvalidRule", "spec.tools[0].require[0]: unexpected end of input", 1),
        ],
        selectedPods: 0,
        enforcedPods: 0,
      },
    });
    const many = policy({ status: { ...policy().status, selectedPods: 25, enforcedPods: 0, unguardedPods: ["p1"] } });
    const text = renderTable([reportPolicy(many, [{ name: "p1", fix: FIX }]), reportPolicy(broken, [])], {
      allNamespaces: true,
      now: NOW,
    });
    const lines = text.split("\n");
    assert.ok(lines[0]?.startsWith("NAMESPACE   NAME     MODE "), lines[0]);
    assert.equal(lines[2], "team-b      broken   Enforce   deny      False   InvalidRule   0          0          2d");
    assert.ok(lines.includes("agents/kestra: 25 of 25 selected pods run without the sidecar; the fix:"));
    assert.ok(lines.includes("  … and 24 more (the status names the first 1)"));
    assert.ok(
      lines.includes("team-b/broken: not ready (InvalidRule): spec.tools[0].require[0]: unexpected end of input"),
    );
  });

  it("prints nothing more than the table when every policy is ready and enforced", () => {
    const healthy = policy({ status: { ...policy().status, enforcedPods: 3, unguardedPods: [] } });
    assert.equal(renderTable([reportPolicy(healthy, [])], { allNamespaces: false, now: NOW }).split("\n").length, 3);
  });

  it("writes ages the way kubectl does", () => {
    const s = 1000;
    assert.deepEqual(
      [
        45 * s,
        200 * s,
        42 * 60 * s,
        5 * 3600 * s + 12 * 60 * s,
        30 * 3600 * s,
        4 * 86400 * s + 6 * 3600 * s,
        120 * 86400 * s,
        3 * 365 * 86400 * s,
        -5 * s,
      ].map(age),
      ["45s", "3m20s", "42m", "5h12m", "30h", "4d6h", "120d", "3y", "0s"],
    );
  });
});
