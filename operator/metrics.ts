// The operator's Prometheus metrics, in one registry per process (tests create their own).
// Base units, `_total` counters, histograms; label values come from bounded sets only.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { InjectionReason, InjectionResult } from "./injector/outcome.ts";
import { APPROVAL_OUTCOMES } from "./approvals/transitions.ts";

export interface OperatorMetrics {
  registry: Registry;
  injections: Counter<"result" | "reason">;
  webhookDuration: Histogram<"result">;
  reconciles: Counter<"result">;
  leader: Gauge;
  certificateExpiry: Gauge;
  approvals: Counter<"outcome">;
  approvalsPending: Gauge;
  approvalDecisionDuration: Histogram<"decision">;
  /** Per McpPolicy, from the leader's controller (what `kubectl get mcpp` shows as SELECTED and ENFORCED). */
  policySelectedPods: Gauge<"namespace" | "policy">;
  policyEnforcedPods: Gauge<"namespace" | "policy">;
  spansDropped: Counter;
}

const INJECTION_OUTCOMES: Array<[InjectionResult, InjectionReason]> = [
  ["injected", "injected"],
  ...(
    ["system_namespace", "opted_out", "host_network", "already_injected", "not_selected", "not_a_pod_create"] as const
  ).map((r): [InjectionResult, InjectionReason] => ["skipped", r]),
  ...(
    [
      "conflicting_policies",
      "invalid_override",
      "ambiguous_container",
      "ambiguous_port",
      "missing_upstream_port",
      "port_conflict",
      "reserved_name",
    ] as const
  ).map((r): [InjectionResult, InjectionReason] => ["rejected", r]),
  ...(["not_ready", "internal_error", "bad_request"] as const).map((r): [InjectionResult, InjectionReason] => [
    "error",
    r,
  ]),
];

export function createOperatorMetrics(options: { version: string; defaultMetrics?: boolean }): OperatorMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const injections = new Counter({
    name: "mcp_warden_injections_total",
    help: "Pod admissions by the injector, by result (injected, skipped, rejected, error) and reason.",
    labelNames: ["result", "reason"] as const,
    registers: [registry],
  });
  // Every combination starts at zero, so rate() and alerts see a series before the first event.
  for (const [result, reason] of INJECTION_OUTCOMES) injections.inc({ result, reason }, 0);
  const webhookDuration = new Histogram({
    name: "mcp_warden_webhook_duration_seconds",
    help: "Time to answer an AdmissionReview, from request body to response.",
    labelNames: ["result"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const reconciles = new Counter({
    name: "mcp_warden_reconcile_total",
    help: "Reconciliations by the controller, by result (success, error).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  for (const result of ["success", "error"]) reconciles.inc({ result }, 0);
  const leader = new Gauge({
    name: "mcp_warden_leader",
    help: "1 while this replica holds the controller lease.",
    registers: [registry],
  });
  const certificateExpiry = new Gauge({
    name: "mcp_warden_webhook_certificate_expiry_timestamp_seconds",
    help: "When the webhook serving certificate in use expires (Unix time).",
    registers: [registry],
  });
  const approvals = new Counter({
    name: "mcp_warden_approvals_total",
    help: "McpApproval outcomes seen by the controller: approved, denied, used (a call was forwarded on it), timed_out (no decision within the agent's wait), expired (deleted at its expiry, never used or denied).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  for (const outcome of APPROVAL_OUTCOMES) approvals.inc({ outcome }, 0);
  const approvalsPending = new Gauge({
    name: "mcp_warden_approvals_pending",
    help: "McpApprovals waiting for a decision (not decided, not used, not expired); set by the replica holding the Lease, 0 on the others.",
    registers: [registry],
  });
  const approvalDecisionDuration = new Histogram({
    name: "mcp_warden_approval_decision_duration_seconds",
    help: "Time from an McpApproval's creation to its decision, by decision (approved, denied).",
    labelNames: ["decision"] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400],
    registers: [registry],
  });
  // `policy` is "<namespace>/<name>", as on the sidecars' metrics, so one dashboard variable filters
  // both; `namespace` is the policy's (the ServiceMonitor keeps it with honorLabels).
  const policySelectedPods = new Gauge({
    name: "mcp_warden_policy_selected_pods",
    help: "Live pods an McpPolicy selects (status.selectedPods); exported by the controller on the leader.",
    labelNames: ["namespace", "policy"] as const,
    registers: [registry],
  });
  const policyEnforcedPods = new Gauge({
    name: "mcp_warden_policy_enforced_pods",
    help: "Selected pods running the McpPolicy's sidecar (status.enforcedPods); exported by the controller on the leader.",
    labelNames: ["namespace", "policy"] as const,
    registers: [registry],
  });
  const spansDropped = new Counter({
    name: "mcp_warden_spans_dropped_total",
    help: "Sampled trace spans that never reached the OpenTelemetry collector (export failed or timed out, or the export queue was full). Admission is never held back for spans.",
    registers: [registry],
  });
  const build = new Gauge({
    name: "mcp_warden_build_info",
    help: "Build information; always 1.",
    labelNames: ["version", "component"] as const,
    registers: [registry],
  });
  build.set({ version: options.version, component: "operator" }, 1);
  return {
    registry,
    injections,
    webhookDuration,
    reconciles,
    leader,
    certificateExpiry,
    policySelectedPods,
    policyEnforcedPods,
    approvals,
    approvalsPending,
    approvalDecisionDuration,
    spansDropped,
  };
}
