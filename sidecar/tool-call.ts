// The sidecar's vocabulary for a call it decides: who calls (CallerContext), what is asked
// (ToolCallRequest), what was decided (Verdict, with the reasons only the sidecar can give), the
// decided call every later step reads (DecidedCall; DecidedTarget for resources and prompts), and what
// became of it upstream (UpstreamOutcome).
// Everything above the wire formats speaks these words, so this file imports nothing of the sidecar:
// it is the bottom of the sidecar's layers above json/ and mcp/ (ADR 0900).
import type { CompiledPolicy } from "../policy/compile.ts";
import type { CelCaller } from "../policy/cel/environment.ts";
import type { DecisionKind, DecisionReason } from "../policy/decision.ts";
import type { Admission, Evaluation } from "../policy/decide.ts";
import type { McpPolicySpecType } from "../policy/schema.ts";
import type { TargetKind } from "../policy/targets.ts";
import type { RequestId } from "./mcp/jsonrpc.ts";

export type SidecarReason =
  | DecisionReason
  /** No policy has been loaded yet: every call is denied (fail closed). */
  | "no_policy"
  /** params.name is not a name the policy or the upstream knows and not a plain tool name (look-alikes). */
  | "invalid_tool_name"
  /** A person approved the call (allowed). */
  | "approved"
  /** A person denied the call, or the approval expired before anyone decided (denied). */
  | "approval_denied"
  | "approval_expired"
  /** No approval could be requested: no Kubernetes API, or it cannot be reached (approval_required). */
  | "approval_unavailable"
  /** spec.pins: the tool's live definition is not the pinned one (denied in Enforce). */
  | "definition_drift"
  /** spec.pins.newTools: hide, and the tool has no pin. */
  | "definition_unpinned"
  /** The tool is pinned and the sidecar has not seen its definition (fail closed). */
  | "definition_unknown";

export interface Verdict {
  readonly decision: DecisionKind;
  readonly reason: SidecarReason;
  /** JSON Pointer into the policy, or a marker such as "(default deny)". */
  readonly rule: string;
  /** For the agent; empty when allowed. */
  readonly message: string;
  readonly retryAfterSeconds?: number | undefined;
}

/** What happened to a call after the decision, for the audit log. */
export type UpstreamOutcome =
  | "ok" // a result
  | "tool_error" // a result with isError: the tool ran and failed
  | "input_required" // 2026-07-28 InputRequiredResult: the client will retry with input
  | "rpc_error" // a JSON-RPC error answer
  | "http_error" // an HTTP error status
  | "connection_error" // the upstream could not be reached or broke off
  | "cancelled" // the client went away first
  | "unknown" // answered on a stream the sidecar did not read to the end
  | "not_forwarded"; // decided by the sidecar

export interface CallerContext {
  readonly caller: CelCaller;
  /** How the caller authenticated: api_key, jwt, kubernetes, anonymous. */
  readonly authMethod: string;
  /** The MCP session the call belongs to (bound to this caller), if any. */
  readonly session: string | undefined;
}

export interface ToolCallRequest {
  readonly id: RequestId;
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

/** What every decided request carries: who asked, the verdict, and what the decision drew on. */
export interface DecidedRequest {
  readonly context: CallerContext;
  readonly verdict: Verdict;
  /** Whether the request goes to the upstream: when allowed, and in Audit mode always. */
  readonly forward: boolean;
  readonly policy: CompiledPolicy | undefined;
  readonly admission: Admission | undefined;
  readonly startedAt: number;
}

export interface DecidedCall extends DecidedRequest {
  readonly request: ToolCallRequest;
  /** The tool's metric label (`_unknown` for names neither the policy nor the upstream knows). */
  readonly toolLabel: string;
  /**
   * Set while the call waits for a person's approval (an approve rule, in Enforce mode): the
   * evaluation whose limits are consumed once it is approved. Such a call is counted when its wait ends.
   */
  readonly awaitingApproval?: Evaluation;
  /** How an approval-required call ended, for the audit log. */
  readonly approval?: ApprovalRecord;
  /** When a call held for approval went upstream (its wait is not the upstream's latency). */
  readonly forwardedAt?: number | undefined;
  /** Time spent in the rate-limit store admitting the call (seconds), when it was consulted. */
  readonly storeSeconds?: number | undefined;
  /** The sampled trace the call belongs to: its id is the exemplar of the call's histograms. */
  readonly traceId?: string | undefined;
}

/** A resources/read or prompts/get the policy's resources: or prompts: block decided. */
export interface DecidedTarget extends DecidedRequest {
  readonly kind: TargetKind;
  readonly id: RequestId;
  readonly target: string;
  readonly args: Record<string, unknown>;
}

/** The approval behind a call's final decision (audit log). */
export interface ApprovalRecord {
  /** namespace/name of the McpApproval, when there is one. */
  readonly name?: string | undefined;
  readonly via?: "Kubernetes" | "Elicitation" | undefined;
  readonly decidedBy?: string | undefined;
}

/** The generation of an McpPolicy, or the content digest of a document that has none. */
export function versionOf(policy: CompiledPolicy): string {
  return policy.generation !== undefined ? String(policy.generation) : policy.digest;
}

export type StoreKind = "memory" | "redis";

/** The rate-limit store a policy decides with (the `store` label of metrics and spans). */
export function storeKind(spec: McpPolicySpecType): StoreKind {
  return spec.rateLimit?.store ?? "memory";
}
