// The answers to calls the policy does not let through, written by the proxy itself. Policy decisions
// are tool results (HTTP 200, the request's id): clients tear sessions down on HTTP errors, and a result
// an agent can read lets it adapt. Only a hidden tool answers as the upstream answers a tool it does not
// have (learnt from the upstream, else JSON-RPC -32602: see enforcement/missing-tool-answer.ts).
import {
  INVALID_PARAMS,
  POLICY_DENIED,
  RATE_LIMITED,
  RESOURCE_NOT_FOUND,
  rpcError,
  type JsonRpcErrorAnswer,
} from "../mcp/answers.ts";
import type { RequestId } from "../mcp/jsonrpc.ts";
import type { Verdict } from "../tool-call.ts";

/** Where the decision is carried in machine-readable form, next to the text the agent reads. */
export const DECISION_META_KEY = "mcpwarden.io/decision";

/** What the sidecar knows of the upstream's missing tools (enforcement/tool-names.ts KnownTools). */
export interface MissingTools {
  /** Whether the upstream's catalogue is known and does not have this tool. */
  lacks(tool: string): boolean;
  /** The upstream's answer to a call of a tool it does not have (learnt, else JSON-RPC -32602). */
  answerMissing(id: RequestId, tool: string, modern: boolean): Record<string, unknown>;
}

/**
 * Hidden tools answer as missing ones. So do tools the upstream does not have that the policy denies
 * by default or by a glob rule: were they answered "[POLICY DENIED]", a hidden tool would stand out as
 * the one unlisted name that is not denied (ADR 0122). Nothing could run either way. A name a deny
 * rule names exactly keeps its reason (`lacks` is false for it: see proxy/post-plan.ts).
 */
function answersAsMissing(tool: string, verdict: Verdict, missing: MissingTools): boolean {
  if (verdict.reason === "hidden") return true;
  return (verdict.reason === "default_deny" || verdict.reason === "tool_denied") && missing.lacks(tool);
}

const PREFIX = {
  denied: "[POLICY DENIED]",
  rate_limited: "[RATE LIMITED]",
  approval_required: "[APPROVAL REQUIRED]",
} as const;

/**
 * The answer to a tool call the policy does not let through. `modern`: the request speaks 2026-07-28
 * or later, whose results must say `resultType` (older clients do not know the field).
 */
export function decisionAnswer(
  id: RequestId,
  tool: string,
  verdict: Verdict,
  modern = false,
  missing?: MissingTools,
): Record<string, unknown> {
  if (missing && answersAsMissing(tool, verdict, missing)) return missing.answerMissing(id, tool, modern);
  if (verdict.reason === "hidden")
    return rpcError(id, INVALID_PARAMS, `Unknown tool: '${tool}'`) as unknown as Record<string, unknown>;
  const decision = verdict.decision === "allowed" ? "denied" : verdict.decision;
  const text = `${PREFIX[decision]} ${verdict.message || `Tool '${tool}' is not allowed by policy.`}`;
  const meta: Record<string, unknown> = { decision, reason: verdict.reason, rule: verdict.rule };
  if (verdict.retryAfterSeconds !== undefined) meta.retryAfterSeconds = verdict.retryAfterSeconds;
  return {
    jsonrpc: "2.0",
    id,
    result: {
      content: [{ type: "text", text }],
      isError: true,
      ...(modern ? { resultType: "complete" } : {}),
      _meta: { [DECISION_META_KEY]: meta },
    },
  };
}

/**
 * The answer to a resources/read or prompts/get the policy does not let through. These results have no
 * isError, so the decision is a JSON-RPC error: hidden ones as the server would answer for something
 * that does not exist, the others with the sidecar's own code and the decision in `data`.
 */
export function targetDecisionAnswer(
  id: RequestId,
  kind: "resource" | "prompt",
  target: string,
  verdict: Verdict,
): JsonRpcErrorAnswer {
  if (verdict.reason === "hidden") {
    return kind === "resource"
      ? rpcError(id, RESOURCE_NOT_FOUND, "Resource not found", { uri: target })
      : rpcError(id, INVALID_PARAMS, `Prompt ${target} not found`);
  }
  const decision = verdict.decision === "rate_limited" ? "rate_limited" : "denied";
  const meta: Record<string, unknown> = { decision, reason: verdict.reason, rule: verdict.rule };
  if (verdict.retryAfterSeconds !== undefined) meta.retryAfterSeconds = verdict.retryAfterSeconds;
  return rpcError(
    id,
    decision === "rate_limited" ? RATE_LIMITED : POLICY_DENIED,
    `${PREFIX[decision]} ${verdict.message}`,
    { [DECISION_META_KEY]: meta },
  );
}

/** completion/complete refused: a hidden prompt or template answers as the SDK servers answer a missing one. */
export function completionRefusal(
  id: RequestId,
  kind: "resource" | "prompt",
  target: string,
  verdict: Verdict,
): JsonRpcErrorAnswer {
  if (verdict.reason === "hidden" && kind === "resource")
    return rpcError(id, INVALID_PARAMS, `Resource template ${target} not found`);
  return targetDecisionAnswer(id, kind, target, verdict);
}
