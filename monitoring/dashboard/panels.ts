// The panels of the mcp-warden Grafana dashboard, as data: a row is a title and its panels, a panel
// is a title, a description, a unit and PromQL targets. dashboard.ts lays them out and renders
// Grafana's JSON. Every query here is run against a real Prometheus by test/chart/install.test.ts,
// which also names the label sets each must return; a new panel needs an entry there.
//
// Queries use the variables $namespace, $policy and $tool (multi-value, "All" = .*) and Grafana's
// $__rate_interval. Sidecar metrics get namespace and pod from the PodMonitor's target labels; the
// operator's policy gauges carry the McpPolicy's namespace themselves (ServiceMonitor honorLabels).

export interface PanelTarget {
  expr: string;
  /** Grafana legend, e.g. "{{decision}}". */
  legend: string;
  /** Show the series' exemplars (trace ids of sampled calls), each a link to its trace. */
  exemplar?: boolean;
}

export interface PanelSpec {
  title: string;
  description: string;
  kind: "timeseries" | "stat" | "table";
  /** A Grafana unit id: reqps, s, short, none… */
  unit: string;
  /** Of the dashboard's 24 columns. */
  width: number;
  height?: number;
  targets: PanelTarget[];
  /** Stacked areas (parts of a whole, such as calls by decision). */
  stacked?: boolean;
  /** Series colours by legend name, e.g. decisions. */
  colors?: Record<string, string>;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

const SIDECARS = 'namespace=~"$namespace", policy=~"$policy"';
const CALLS = `${SIDECARS}, tool=~"$tool"`;
const calls = (extra = "") => `mcp_warden_tool_calls_total{${CALLS}${extra}}`;

export const DECISION_COLORS: Record<string, string> = {
  allowed: "green",
  denied: "red",
  rate_limited: "orange",
  approval_required: "blue",
};

const quantiles = (metric: string, by: string, selector: string, legendPrefix: string): PanelTarget[] =>
  ([0.5, 0.99] as const).map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${by}le) (rate(${metric}${selector ? `{${selector}}` : ""}[$__rate_interval])))`,
    legend: `p${q * 100} ${legendPrefix}`.trim(),
  }));

export const TOOL_CALLS: RowSpec = {
  title: "Tool calls",
  panels: [
    {
      title: "Tool calls per second by decision",
      description: "Every tools/call the sidecars decided. In Audit mode, calls are forwarded whatever the decision.",
      kind: "timeseries",
      unit: "reqps",
      width: 12,
      stacked: true,
      colors: DECISION_COLORS,
      targets: [{ expr: `sum by (decision) (rate(${calls()}[$__rate_interval]))`, legend: "{{decision}}" }],
    },
    {
      title: "Denied calls by tool",
      description:
        "Tools whose calls were denied (never forwarded in Enforce mode). Names the server does not have are counted as _unknown.",
      kind: "timeseries",
      unit: "reqps",
      width: 12,
      targets: [
        { expr: `sum by (tool) (rate(${calls(', decision="denied"')}[$__rate_interval]))`, legend: "{{tool}}" },
      ],
    },
    {
      title: "Denied calls by reason",
      description:
        "Why calls were denied: default_deny, tool_denied, hidden, require_failed, deny_if_matched, invalid_arguments, no_policy…",
      kind: "timeseries",
      unit: "reqps",
      width: 12,
      targets: [
        { expr: `sum by (reason) (rate(${calls(', decision="denied"')}[$__rate_interval]))`, legend: "{{reason}}" },
      ],
    },
    {
      title: "Rate-limited calls by tool",
      description: "Calls refused because a limit of the policy was reached; the agent is told when to retry.",
      kind: "timeseries",
      unit: "reqps",
      width: 12,
      targets: [
        { expr: `sum by (tool) (rate(${calls(', decision="rate_limited"')}[$__rate_interval]))`, legend: "{{tool}}" },
      ],
    },
    {
      title: "Upstream latency p50 / p99 by tool",
      description: "Time from receiving a forwarded call to the end of the MCP server's answer.",
      kind: "timeseries",
      unit: "s",
      width: 24,
      // The sidecars' trace ids ride on these buckets as exemplars when tracing is on.
      targets: quantiles("mcp_warden_upstream_duration_seconds_bucket", "tool, ", CALLS, "{{tool}}").map((t) => ({
        ...t,
        exemplar: true,
      })),
    },
  ],
};

export const POLICIES: RowSpec = {
  title: "Policies",
  panels: [
    {
      title: "Policy versions in force",
      description:
        "Sidecars per policy version (the McpPolicy's generation). Two versions of one policy at once: sidecars still catching up, or one that cannot read the API.",
      kind: "table",
      unit: "short",
      width: 12,
      targets: [
        {
          expr: `count by (namespace, policy, version, mode) (mcp_warden_policy_info{${SIDECARS}})`,
          legend: "{{policy}} v{{version}}",
        },
      ],
    },
    {
      title: "Sidecars without a policy",
      description: "Sidecars that have not loaded a valid policy, and so deny every tool call.",
      kind: "stat",
      unit: "short",
      width: 4,
      targets: [
        {
          expr:
            'count by (namespace) (mcp_warden_build_info{component="sidecar", namespace=~"$namespace"})' +
            ' - (count by (namespace) (mcp_warden_policy_info{namespace=~"$namespace"})' +
            ' or 0 * count by (namespace) (mcp_warden_build_info{component="sidecar", namespace=~"$namespace"}))',
          legend: "{{namespace}}",
        },
      ],
    },
    {
      title: "Policy versions rejected",
      description:
        "New policy versions a sidecar could not compile; it kept the previous one. kubectl describe mcpp shows the problem.",
      kind: "timeseries",
      unit: "short",
      width: 8,
      targets: [
        {
          expr: 'sum by (namespace, pod) (increase(mcp_warden_policy_reloads_total{namespace=~"$namespace", result="invalid"}[$__rate_interval]))',
          legend: "{{namespace}}/{{pod}}",
        },
      ],
    },
    {
      title: "Rate-limit store errors",
      description:
        "Failed rate-limit store operations (Redis unreachable…); the policy's failMode then refuses or admits the calls.",
      kind: "timeseries",
      unit: "ops",
      width: 12,
      targets: [
        {
          expr: 'sum by (namespace, pod, store) (rate(mcp_warden_rate_limit_store_errors_total{namespace=~"$namespace"}[$__rate_interval]))',
          legend: "{{namespace}}/{{pod}} {{store}}",
        },
      ],
    },
    {
      title: "Drifted tool definitions",
      description:
        "Tools whose live definition differs from their pin in spec.pins (or have no pin under newTools: hide), by policy; 0 for policies without drift or pins. kubectl mcp-warden pins diff shows what changed.",
      kind: "timeseries",
      unit: "short",
      width: 12,
      targets: [
        {
          expr:
            `count by (namespace, policy) (max by (namespace, policy, tool) (mcp_warden_tool_definition_drift{${SIDECARS}}) > 0)` +
            ` or 0 * count by (namespace, policy) (mcp_warden_policy_info{${SIDECARS}})`,
          legend: "{{policy}}",
        },
      ],
    },
    {
      title: "Pods selected but not enforced",
      description:
        "Pods a policy selects that run without its sidecar (created before the policy or the namespace label). kubectl describe mcpp names them and the restart that fixes each.",
      kind: "timeseries",
      unit: "short",
      width: 12,
      targets: [
        {
          expr: `max by (namespace, policy) (mcp_warden_policy_selected_pods{${SIDECARS}}) - max by (namespace, policy) (mcp_warden_policy_enforced_pods{${SIDECARS}})`,
          legend: "{{policy}}",
        },
      ],
    },
  ],
};

export const INJECTION: RowSpec = {
  title: "Injection (operator)",
  panels: [
    {
      title: "Injections by result",
      description:
        "Pod admissions the injector answered: injected, skipped (not selected, opted out…), rejected (with a message to the pod's creator) or error.",
      kind: "timeseries",
      unit: "reqps",
      width: 12,
      stacked: true,
      colors: { injected: "green", skipped: "text", rejected: "orange", error: "red" },
      targets: [
        { expr: "sum by (result) (rate(mcp_warden_injections_total[$__rate_interval]))", legend: "{{result}}" },
      ],
    },
    {
      title: "Injections rejected or failed, by reason",
      description:
        "Rejected: the pod cannot be injected as it is (two policies select it, a bad annotation…). Error: the injector could not decide (not ready, bad request); with failurePolicy Fail such pods are not created.",
      kind: "timeseries",
      unit: "reqps",
      width: 12,
      targets: [
        {
          expr: 'sum by (result, reason) (rate(mcp_warden_injections_total{result=~"rejected|error"}[$__rate_interval]))',
          legend: "{{result}} {{reason}}",
        },
      ],
    },
    {
      title: "Webhook latency p50 / p99",
      description: "Time to answer an AdmissionReview. The API server gives up at the webhook's timeoutSeconds.",
      kind: "timeseries",
      unit: "s",
      width: 12,
      targets: quantiles("mcp_warden_webhook_duration_seconds_bucket", "", "", ""),
    },
    {
      title: "Webhook certificate expires in",
      description:
        "The serving certificate in use on the replica closest to expiry; renewed with a third of its life left.",
      kind: "stat",
      unit: "s",
      width: 6,
      targets: [
        { expr: "min(mcp_warden_webhook_certificate_expiry_timestamp_seconds) - time()", legend: "expires in" },
      ],
    },
    {
      title: "Controller leader",
      description: "Replicas holding the controller's Lease: 1 when healthy, 0 during a failover.",
      kind: "stat",
      unit: "short",
      width: 6,
      targets: [{ expr: "sum(mcp_warden_leader)", legend: "leaders" }],
    },
  ],
};

// The operator's leader counts approvals across the cluster (ADR 705): these panels carry no
// namespace or policy, like the injection row. Outcomes are not exclusive (an approval can time
// out, then be approved, then be used).
export const APPROVALS: RowSpec = {
  title: "Approvals (operator)",
  panels: [
    {
      title: "Approvals pending",
      description:
        "McpApprovals waiting for a person's decision. Agents wait up to the rule's timeout, then retry once approved. kubectl mcp-warden approvals list -A shows them.",
      kind: "stat",
      unit: "short",
      width: 6,
      targets: [{ expr: "max(mcp_warden_approvals_pending)", legend: "pending" }],
    },
    {
      title: "Approvals by outcome",
      description:
        "approved and denied: decisions; used: approved calls forwarded (once each); timed_out: no decision within the agent's wait; expired: deleted at expiry, never used.",
      kind: "timeseries",
      unit: "short",
      width: 12,
      colors: { approved: "green", denied: "red", used: "blue", timed_out: "orange", expired: "text" },
      targets: [
        { expr: "sum by (outcome) (increase(mcp_warden_approvals_total[$__rate_interval]))", legend: "{{outcome}}" },
      ],
    },
    {
      title: "Time to decision p50 / p99",
      description: "From the request of an approval to a person's decision.",
      kind: "timeseries",
      unit: "s",
      width: 6,
      targets: quantiles("mcp_warden_approval_decision_duration_seconds_bucket", "", "", ""),
    },
  ],
};

export const TOOL_RESULTS: RowSpec = {
  title: "Tool results",
  panels: [
    {
      title: "Result redactions by detector",
      description:
        "Matches the policy's result rules replaced by [REDACTED:<detector>] in tool results (secrets, personal data, the policy's own detectors).",
      kind: "timeseries",
      unit: "short",
      width: 12,
      targets: [
        {
          expr: `sum by (detector) (increase(mcp_warden_result_redactions_total{${CALLS}}[$__rate_interval]))`,
          legend: "{{detector}}",
        },
      ],
    },
    {
      title: "Results withheld by reason",
      description:
        "Tool results replaced by an error result: detector (a denyIf detector matched), too_large (over maxBytes), condition (a withholdIf held), evaluation_error and scan_failed (fail closed).",
      kind: "timeseries",
      unit: "short",
      width: 12,
      targets: [
        {
          expr: `sum by (reason) (increase(mcp_warden_results_withheld_total{${CALLS}}[$__rate_interval]))`,
          legend: "{{reason}}",
        },
      ],
    },
  ],
};

/** The dashboard's rows, top to bottom. */
export const ROWS: readonly RowSpec[] = [TOOL_CALLS, TOOL_RESULTS, POLICIES, APPROVALS, INJECTION];
