// What an approval is bound to. A person approves one exact request: this policy at this generation,
// this tool, this caller (grant), this MCP session, these arguments (by digest). The sidecar checks
// every part again before it forwards anything, so an approval for anything else unlocks nothing.
import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.ts";

export interface ApprovalBinding {
  /** The McpPolicy's name (the approval lives in its namespace). */
  readonly policy: string;
  readonly policyGeneration: number;
  readonly tool: string;
  /** The caller's grant: API-key name or token subject. */
  readonly caller: string;
  /** Fingerprint of the MCP session (as in the audit log); undefined for sessionless transports. */
  readonly session: string | undefined;
  /** SHA-256 (hex) of the arguments' canonical JSON (RFC 8785). */
  readonly argsDigest: string;
}

/** SHA-256, lower-case hex, of the RFC 8785 canonical JSON of a call's arguments. */
export function argumentsDigest(args: unknown): string {
  return createHash("sha256").update(canonicalJson(args), "utf8").digest("hex");
}

export const ARGS_DIGEST_PATTERN = /^[0-9a-f]{64}$/;

/** One string per binding, for indexing approvals; every field takes part. */
export function bindingKey(b: ApprovalBinding): string {
  return JSON.stringify([b.policy, b.policyGeneration, b.tool, b.caller, b.session ?? null, b.argsDigest]);
}

/** The fields of `actual` that differ from what the request needs (empty when it is bound to it). */
export function bindingMismatches(expected: ApprovalBinding, actual: ApprovalBinding): string[] {
  const fields = ["policy", "policyGeneration", "tool", "caller", "session", "argsDigest"] as const;
  return fields.filter((f) => (expected[f] ?? null) !== (actual[f] ?? null));
}
