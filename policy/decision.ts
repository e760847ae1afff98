// What the engine decides about one tool call, in the vocabulary the sidecar, the metrics and the
// audit log share. `reason` is a bounded code (a metric label); `message` is for the agent.
import type { CelCaller } from "./cel/environment.ts";

export type DecisionKind = "allowed" | "denied" | "rate_limited" | "approval_required";

export type DecisionReason =
  | "rule_allowed"
  | "default_allow"
  | "default_deny"
  | "hidden"
  | "tool_denied"
  /** A resources or prompts rule whose action is deny. */
  | "rule_denied"
  | "require_failed"
  | "deny_if_matched"
  | "invalid_arguments"
  /** `arguments: strict`: the arguments do not validate against the tool's declared inputSchema. */
  | "input_schema_mismatch"
  /** `arguments: strict`: the tool's declared inputSchema is not known (never listed) or not usable. */
  | "input_schema_unknown"
  | "evaluation_error"
  /** The argument checks took longer than the policy's CPU budget: denied whatever they said. */
  | "cpu_budget_exceeded"
  | "limit_exceeded"
  | "store_unavailable"
  | "approval_required";

export const DECISION_REASONS: readonly DecisionReason[] = [
  "rule_allowed",
  "default_allow",
  "default_deny",
  "hidden",
  "tool_denied",
  "rule_denied",
  "require_failed",
  "deny_if_matched",
  "invalid_arguments",
  "input_schema_mismatch",
  "input_schema_unknown",
  "evaluation_error",
  "cpu_budget_exceeded",
  "limit_exceeded",
  "store_unavailable",
  "approval_required",
];

/** Markers used as `rule` when no single place in the document decided. */
export const DEFAULT_DENY_RULE = "(default deny)";
export const DEFAULT_ALLOW_RULE = "(default allow)";
export const HIDDEN_RULE = "(hidden)";

export interface Decision {
  readonly decision: DecisionKind;
  readonly reason: DecisionReason;
  /** What the agent is told; empty for allowed calls. */
  readonly message: string;
  /** JSON Pointer into the policy document, or one of the markers above. */
  readonly rule: string;
  readonly retryAfterSeconds?: number;
}

export interface ToolCall {
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly caller: CelCaller;
  /** The MCP session, when the transport has one; `session`-scoped limits fall back to the grant. */
  readonly session?: string | undefined;
}

export const ANONYMOUS_CALLER: CelCaller = Object.freeze({ grant: "anonymous", sub: "", groups: [], claims: {} });
