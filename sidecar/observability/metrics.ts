// The sidecar's Prometheus metrics, on a registry of its own (several sidecars can live in one test
// process). Every label has a bounded set of values: tool names the policy and the upstream do not
// know become `_unknown`, methods outside MCP's vocabulary become `_other`; no caller, session or
// argument ever becomes a label.
import { registerProcessMetrics } from "./process-metrics.ts";
import { Counter, Gauge, Histogram, Registry, type LabelValues } from "./prom-client.ts";
import type { DecisionKind } from "../../policy/decision.ts";
import type { SidecarReason } from "../tool-call.ts";
import type { ResultVerdict } from "../../policy/results/inspect.ts";

export const UNKNOWN_TOOL = "_unknown";
export const OTHER_METHOD = "_other";

/** How the sidecar dealt with one MCP message or HTTP request (the `outcome` of requests_total). */
export type RequestOutcome =
  | "forwarded" // passed to the upstream
  | "answered" // answered by the sidecar in JSON-RPC (a policy decision or a JSON-RPC error)
  | "rejected" // refused with an HTTP 4xx: bad input
  | "unauthenticated" // 401
  | "forbidden" // 403: Origin not allowed
  | "unknown_session" // 404: a session not issued to this caller through this sidecar
  | "upstream_error" // the upstream could not be reached or failed at the HTTP level
  | "dropped"; // an upstream answer (`_response`) whose id was not minted for the stream it came on

/** Every JSON-RPC method of MCP revisions 2025-03-26 … 2026-07-28 (others are counted as `_other`). */
const KNOWN_METHODS = new Set([
  "initialize",
  "ping",
  "server/discover",
  "subscriptions/listen",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "prompts/list",
  "prompts/get",
  "completion/complete",
  "logging/setLevel",
  "sampling/createMessage",
  "elicitation/create",
  "roots/list",
  "tasks/get",
  "tasks/result",
  "tasks/list",
  "tasks/cancel",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/message",
  "notifications/roots/list_changed",
  "notifications/tools/list_changed",
  "notifications/resources/list_changed",
  "notifications/resources/updated",
  "notifications/prompts/list_changed",
  "notifications/elicitation/complete",
  "notifications/tasks/status",
]);

/** Pseudo-methods for what is not a JSON-RPC request or notification. */
export type PseudoMethod = "GET" | "DELETE" | "_response" | "_invalid";
const PSEUDO_METHODS: ReadonlySet<string> = new Set<PseudoMethod>(["GET", "DELETE", "_response", "_invalid"]);

export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
}

export interface BuildInfo {
  version: string;
}

export class SidecarMetrics {
  readonly registry = new Registry();
  readonly toolCalls: Counter<"policy" | "tool" | "decision" | "reason" | "mode">;
  readonly toolCallDuration: Histogram<"policy" | "decision">;
  readonly upstreamDuration: Histogram<"policy" | "tool">;
  readonly requests: Counter<"method" | "outcome">;
  readonly policyInfo: Gauge<"policy" | "format" | "version" | "digest" | "mode">;
  readonly policyReloads: Counter<"result">;
  readonly rateLimitStoreErrors: Counter<"store">;
  readonly sessions: Gauge;
  readonly upstreamToolNames: Gauge;
  readonly spansDropped: Counter;
  readonly toolDefinitionDrift: Gauge<"policy" | "tool">;
  readonly toolDefinitionDriftTotal: Counter<"policy" | "tool">;
  // Result rules (policy/results)
  readonly resultRedactions: Counter<"policy" | "tool" | "detector">;
  readonly resultsWithheld: Counter<"policy" | "tool" | "reason">;
  /** Resources and prompts requests decided by the policy (tools keep tool_calls_total). */
  readonly requestsDecided: Counter<"policy" | "kind" | "name" | "decision" | "reason" | "mode">;

  constructor(build: BuildInfo, options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.toolCalls = new Counter({
      name: "mcp_warden_tool_calls_total",
      help: "Tool calls decided by the sidecar, by policy, tool, decision and reason. mode=Audit counts calls forwarded whatever the decision.",
      labelNames: ["policy", "tool", "decision", "reason", "mode"],
      registers,
    });
    // The decision and latency histograms carry the trace id of a recent sampled call per bucket as
    // an exemplar (OpenMetrics only, see open-metrics.ts). prom-client refuses exemplars on a
    // Prometheus-text registry at construction, so these two are registered by hand.
    this.toolCallDuration = new Histogram({
      name: "mcp_warden_tool_call_duration_seconds",
      help: "Time from receiving a tool call to the end of its answer (the upstream's, or the sidecar's for calls not forwarded).",
      labelNames: ["policy", "decision"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      enableExemplars: true,
      registers: [],
    });
    this.registry.registerMetric(this.toolCallDuration);
    // Forwarded calls only, by tool: what the MCP server costs each tool (the dashboard's p50/p99).
    // Fewer buckets than above, since tool multiplies the series (tool names are bounded, see top).
    this.upstreamDuration = new Histogram({
      name: "mcp_warden_upstream_duration_seconds",
      help: "Time from receiving a forwarded tool call to the end of the upstream's answer, by policy and tool.",
      labelNames: ["policy", "tool"],
      buckets: [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      enableExemplars: true,
      registers: [],
    });
    this.registry.registerMetric(this.upstreamDuration);
    this.requests = new Counter({
      name: "mcp_warden_requests_total",
      help: "MCP messages and HTTP requests received, by JSON-RPC method (GET/DELETE for streams and session ends) and outcome.",
      labelNames: ["method", "outcome"],
      registers,
    });
    this.policyInfo = new Gauge({
      name: "mcp_warden_policy_info",
      help: "The policy in force (value 1); absent while no policy is loaded.",
      labelNames: ["policy", "format", "version", "digest", "mode"],
      registers,
    });
    this.policyReloads = new Counter({
      name: "mcp_warden_policy_reloads_total",
      help: "Policy versions received from the policy source, by result (success, invalid: rejected and the previous policy kept).",
      labelNames: ["result"],
      registers,
    });
    // Both results exist from the start, so increase() sees the first invalid version (a series
    // born at 1 has no earlier sample to increase from) and alerts need no absent() tricks.
    for (const result of ["success", "invalid"]) this.policyReloads.inc({ result }, 0);
    this.rateLimitStoreErrors = new Counter({
      name: "mcp_warden_rate_limit_store_errors_total",
      help: "Rate-limit store operations that failed (the policy's failMode then decides).",
      labelNames: ["store"],
      registers,
    });
    this.sessions = new Gauge({
      name: "mcp_warden_sessions",
      help: "MCP sessions bound to a caller through this sidecar.",
      registers,
    });
    this.upstreamToolNames = new Gauge({
      name: "mcp_warden_upstream_tools",
      help: "Tool names learnt from the upstream's tools/list answers.",
      registers,
    });
    this.spansDropped = new Counter({
      name: "mcp_warden_spans_dropped_total",
      help: "Sampled trace spans that never reached the OpenTelemetry collector (export failed or timed out, or the export queue was full). Calls are never held back for spans.",
      registers,
    });
    // Pinned tool definitions (ADR 0130): tool is a pinned name or one the upstream listed (bounded).
    this.toolDefinitionDrift = new Gauge({
      name: "mcp_warden_tool_definition_drift",
      help: "1 while a tool's live definition does not match its pin in spec.pins (or it has none under newTools: hide), 0 while it matches.",
      labelNames: ["policy", "tool"],
      registers,
    });
    this.toolDefinitionDriftTotal = new Counter({
      name: "mcp_warden_tool_definition_drift_total",
      help: "Drifts seen: a tool listed with a definition whose digest is not its pin, counted once per new live digest.",
      labelNames: ["policy", "tool"],
      registers,
    });
    // Result rules: detector names come from the policy, so the label stays bounded.
    this.resultRedactions = new Counter({
      name: "mcp_warden_result_redactions_total",
      help: "Matches redacted in tool results, by policy, tool and detector.",
      labelNames: ["policy", "tool", "detector"],
      registers,
    });
    this.resultsWithheld = new Counter({
      name: "mcp_warden_results_withheld_total",
      help: "Tool results withheld by result rules, by policy, tool and reason (detector, too_large, condition, evaluation_error, scan_failed).",
      labelNames: ["policy", "tool", "reason"],
      registers,
    });
    // kind is resource | prompt; name is a URI or prompt name a rule names or the upstream listed, else _unknown.
    this.requestsDecided = new Counter({
      name: "mcp_warden_requests_decided_total",
      help: "resources/read and prompts/get requests decided by the sidecar, by policy, kind, name, decision and reason.",
      labelNames: ["policy", "kind", "name", "decision", "reason", "mode"],
      registers,
    });
    const buildInfo = new Gauge({
      name: "mcp_warden_build_info",
      help: "Build information (value 1).",
      labelNames: ["version", "node_version", "component"],
      registers,
    });
    buildInfo.set({ version: build.version, node_version: process.version, component: "sidecar" }, 1);
    // The process gauges users need, read at scrape time (process-metrics.ts, not prom-client's defaults).
    if (options.processMetrics ?? true) registerProcessMetrics(this.registry);
  }

  countToolCall(labels: {
    policy: string;
    tool: string;
    decision: DecisionKind;
    reason: SidecarReason;
    mode: string;
  }): void {
    this.toolCalls.inc(labels);
  }

  /** What result rules did to one result. */
  countResult(policy: string, tool: string, verdict: ResultVerdict): void {
    if (verdict.action === "withheld") this.resultsWithheld.inc({ policy, tool, reason: verdict.reason ?? "detector" });
    else if (verdict.action === "redacted")
      for (const [detector, n] of Object.entries(verdict.detectors))
        this.resultRedactions.inc({ policy, tool, detector }, n);
  }

  /** Observes a call's duration; a sampled trace's id becomes the bucket's exemplar. */
  observeToolCall(
    labels: { policy: string; decision: DecisionKind },
    seconds: number,
    traceId: string | undefined,
  ): void {
    this.toolCallDuration.observe({ labels, value: seconds, exemplarLabels: exemplar(traceId) });
  }

  observeUpstream(labels: { policy: string; tool: string }, seconds: number, traceId: string | undefined): void {
    this.upstreamDuration.observe({ labels, value: seconds, exemplarLabels: exemplar(traceId) });
  }

  /** `method` is a JSON-RPC method or a PseudoMethod. */
  countRequest(method: string, outcome: RequestOutcome): void {
    this.requests.inc({ method: PSEUDO_METHODS.has(method) ? method : methodLabel(method), outcome });
  }
}

/** A trace id as exemplar labels (prom-client types these as the metric's own label names; they are not). */
function exemplar<T extends string>(traceId: string | undefined): LabelValues<T> {
  return (traceId === undefined ? {} : { trace_id: traceId }) as LabelValues<T>;
}
