// One audit line per tool-call decision. Records who called what and what the sidecar and the
// upstream did about it, never argument values (they may hold secrets): only their keys.
import type { Logger } from "pino";
import { sessionFingerprint } from "../sessions.ts";
import type { ApprovalRecord, UpstreamOutcome, Verdict } from "../tool-call.ts";
import type { ResultVerdict } from "../../policy/results/inspect.ts";

export interface AuditRecord {
  /** What was decided: a tool call (the default), a resource read or a prompt. */
  kind?: "tool" | "resource" | "prompt";
  policy: string | undefined;
  policyVersion: string | undefined;
  mode: "Enforce" | "Audit" | undefined;
  grant: string;
  sub: string;
  authMethod: string;
  session: string | undefined;
  requestId: string | number;
  tool: string;
  verdict: Verdict;
  /** Whether the call went to the upstream (in Audit mode also calls the policy would not allow). */
  forwarded: boolean;
  arguments: unknown;
  upstreamStatus: number | undefined;
  upstreamOutcome: UpstreamOutcome;
  refunded: boolean;
  durationSeconds: number;
  /** For calls an approve rule held: the approval they ended with. */
  approval?: ApprovalRecord | undefined;
  /** What the result rules did to the result: detectors and match counts, never matched text. */
  results?: ResultVerdict | undefined;
  /** The exported trace the call belongs to, when tracing sampled it: from an audit line to its trace. */
  traceId?: string | undefined;
}

const MAX_KEYS = 64;
const MAX_KEY_LENGTH = 128;
/** Caller-chosen strings (tool names, request ids) are cut: a line must stay a line. */
const MAX_FIELD_LENGTH = 256;

function cut(s: string): string {
  return s.length > MAX_FIELD_LENGTH ? `${s.slice(0, MAX_FIELD_LENGTH)}…` : s;
}

export function argumentKeys(args: unknown): string[] {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return [];
  const keys = Object.keys(args).sort();
  const shown = keys.slice(0, MAX_KEYS).map((k) => (k.length > MAX_KEY_LENGTH ? `${k.slice(0, MAX_KEY_LENGTH)}…` : k));
  if (keys.length > MAX_KEYS) shown.push(`… ${keys.length - MAX_KEYS} more`);
  return shown;
}

export function writeAudit(audit: Logger, r: AuditRecord): void {
  audit.info(
    {
      policy: r.policy ?? null,
      policyVersion: r.policyVersion ?? null,
      mode: r.mode ?? null,
      caller: { grant: r.grant, sub: r.sub, method: r.authMethod },
      session: sessionFingerprint(r.session) ?? null,
      requestId: typeof r.requestId === "string" ? cut(r.requestId) : r.requestId,
      kind: r.kind ?? "tool",
      // resources: the URI; prompts: the prompt's name.
      ...(r.kind === "resource" ? { uri: cut(r.tool) } : r.kind === "prompt" ? { prompt: cut(r.tool) } : { tool: cut(r.tool) }),
      decision: r.verdict.decision,
      reason: r.verdict.reason,
      rule: r.verdict.rule,
      ...(r.verdict.retryAfterSeconds !== undefined ? { retryAfterSeconds: r.verdict.retryAfterSeconds } : {}),
      forwarded: r.forwarded,
      argumentKeys: argumentKeys(r.arguments),
      upstreamStatus: r.upstreamStatus ?? null,
      upstreamOutcome: r.upstreamOutcome,
      // Only a complete result is a success: an input_required answer asks for a retry, nothing ran to the end.
      succeeded: r.forwarded && r.upstreamOutcome === "ok",
      refunded: r.refunded,
      durationMs: Math.round(r.durationSeconds * 1e6) / 1e3,
      ...(r.results ? { results: resultRecord(r.results) } : {}),
      ...(r.traceId !== undefined ? { traceId: r.traceId } : {}),
      ...(r.approval ? { approval: { name: r.approval.name ?? null, via: r.approval.via ?? null, decidedBy: r.approval.decidedBy ? cut(r.approval.decidedBy) : null } } : {}),
    },
    r.kind === "resource" ? "resource read" : r.kind === "prompt" ? "prompt get" : "tool call",
  );
}

/** The audit view of a result verdict: what was done, why, and how many matches of each detector. */
function resultRecord(v: ResultVerdict): Record<string, unknown> {
  return {
    action: v.action,
    ...(v.reason ? { reason: v.reason } : {}),
    detectors: v.detectors,
    ...(v.rule ? { rule: v.rule } : {}),
  };
}
