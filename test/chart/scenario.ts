// The objects of the install scenario: an agents namespace with Kestra's MCP server, the policy that
// guards it, and the expectations on each dashboard panel under the agent's traffic.
import type { V1Pod } from "@kubernetes/client-node";
import { stringify } from "yaml";

export const AGENTS = "agents";
export const POLICY = "kestra";
export const API_KEY = "agent-key-0001";
export const KEYS_SECRET = "kestra-agent-keys";
/** The tool whose calls need a person's approval. */
export const APPROVE_TOOL = "execute_flow";
/** Who approves: bound to the chart's mcp-warden-approver ClusterRole in the agents namespace. */
export const APPROVER = "ops-alice";

/** The policy; `brokenRule` adds a CEL rule the CRD accepts but the engine cannot compile. */
export function policyManifest(options: { brokenRule?: boolean } = {}): string {
  return stringify({
    apiVersion: "mcpwarden.io/v1alpha1",
    kind: "McpPolicy",
    metadata: { name: POLICY, namespace: AGENTS },
    spec: {
      podSelector: { matchLabels: { app: "kestra-mcp" } },
      upstream: { profile: "kestra" },
      identity: { apiKeys: { secretRef: { name: KEYS_SECRET, key: "grants" } } },
      default: "deny",
      hide: ["force_run_execution"],
      // Result rules, so the dashboard's result panels have series: a namespace is redacted from every
      // listing, and a listing with a query is withheld.
      detectors: [{ name: "finance-namespace", pattern: "company\\.finance" }],
      tools: [
        {
          name: "list_namespaces",
          ...(options.brokenRule ? { require: ["args.query.startsWith("] } : {}),
          results: { redact: ["finance-namespace"], withholdIf: ["has(args.query)"] },
        },
        { name: "delete_flow_logs", action: "deny", reason: "Execution logs are kept for audits." },
        { name: "resume_execution", limits: [{ counter: "resume", window: "minute", max: 2, scope: "grant" }] },
        // Held until a person decides (or 30 s pass); an undecided request stays pending for 30 min.
        { name: APPROVE_TOOL, action: "approve", approval: { timeout: "30s", ttl: "30m" } },
      ],
    },
  });
}

/** Kestra's MCP server as a pod; the injector recognises the image and moves the server to loopback. */
export function kestraPod(
  name: string,
  options: { adminPort?: number; annotations?: Record<string, string> } = {},
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      labels: { app: "kestra-mcp" },
      annotations: {
        ...(options.adminPort ? { "mcpwarden.io/admin-port": String(options.adminPort) } : {}),
        ...options.annotations,
      },
    },
    spec: {
      containers: [
        {
          name: "kestra",
          image: "ghcr.io/kestra-io/mcp-server-python:0.8.0",
          ports: [{ name: "http", containerPort: 8000 }],
        },
      ],
    },
  };
}

export interface Expectation {
  /** The label names of every series the query returns. */
  labels: string[];
  /** Series that must be above zero, by the value of one label. */
  positive?: { label: string; values: string[] };
  /** A series (by one label's value, or the only one) with an exact value. */
  equals?: { label?: string; value?: string; is: number };
  /** Every value at least this. */
  atLeast?: number;
}

/** What each panel's targets return under the scenario's traffic (one entry per target, in order). */
export const PANEL_EXPECTATIONS: Record<string, Expectation[]> = {
  "Tool calls per second by decision": [
    { labels: ["decision"], positive: { label: "decision", values: ["allowed", "denied", "rate_limited"] } },
  ],
  "Denied calls by tool": [
    {
      labels: ["tool"],
      positive: { label: "tool", values: ["delete_flow_logs", "restart_execution", "force_run_execution"] },
    },
  ],
  "Denied calls by reason": [
    { labels: ["reason"], positive: { label: "reason", values: ["tool_denied", "default_deny", "hidden"] } },
  ],
  "Rate-limited calls by tool": [{ labels: ["tool"], positive: { label: "tool", values: ["resume_execution"] } }],
  "Upstream latency p50 / p99 by tool": [
    // resume_execution is forwarded twice a minute at most: its quantiles are NaN in most windows.
    { labels: ["tool"], positive: { label: "tool", values: ["list_namespaces"] } },
    { labels: ["tool"], positive: { label: "tool", values: ["list_namespaces"] } },
  ],
  "Result redactions by detector": [
    { labels: ["detector"], positive: { label: "detector", values: ["finance-namespace"] } },
  ],
  "Results withheld by reason": [{ labels: ["reason"], positive: { label: "reason", values: ["condition"] } }],
  "Policy versions in force": [
    {
      labels: ["mode", "namespace", "policy", "version"],
      equals: { label: "policy", value: `${AGENTS}/${POLICY}`, is: 1 },
    },
  ],
  "Sidecars without a policy": [{ labels: ["namespace"], equals: { label: "namespace", value: AGENTS, is: 0 } }],
  "Policy versions rejected": [{ labels: ["namespace", "pod"], atLeast: 0 }],
  "Rate-limit store errors": [
    { labels: ["namespace", "pod", "store"], equals: { label: "store", value: "memory", is: 0 } },
  ],
  "Drifted tool definitions": [
    { labels: ["namespace", "policy"], equals: { label: "policy", value: `${AGENTS}/${POLICY}`, is: 0 } },
  ],
  "Pods selected but not enforced": [
    { labels: ["namespace", "policy"], equals: { label: "policy", value: `${AGENTS}/${POLICY}`, is: 1 } },
  ],
  // One request is left undecided; ApprovalTraffic keeps approving and denying others.
  "Approvals pending": [{ labels: [], atLeast: 1 }],
  "Approvals by outcome": [
    { labels: ["outcome"], positive: { label: "outcome", values: ["approved", "denied", "used"] } },
  ],
  "Time to decision p50 / p99": [
    { labels: [], atLeast: 0 },
    { labels: [], atLeast: 0 },
  ],
  "Injections by result": [
    { labels: ["result"], positive: { label: "result", values: ["injected", "skipped", "rejected"] } },
  ],
  "Injections rejected or failed, by reason": [
    { labels: ["reason", "result"], positive: { label: "reason", values: ["invalid_override"] } },
  ],
  "Webhook latency p50 / p99": [
    { labels: [], atLeast: 0 },
    { labels: [], atLeast: 0 },
  ],
  "Webhook certificate expires in": [{ labels: [], atLeast: 20 * 86_400 }],
  "Controller leader": [{ labels: [], equals: { is: 1 } }],
};
