// JSON-RPC error answers and the codes the sidecar uses in them. Error codes are JSON-RPC's own, which
// every revision of MCP understands; the answers to policy decisions are built from these in
// proxy/decision-answers.ts.
import type { RequestId } from "./jsonrpc.ts";

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
/** Session not found: what the TypeScript SDK answers (with HTTP 404) for unknown sessions. */
export const SESSION_NOT_FOUND = -32001;
/** 2026-07-28 HeaderMismatch; only ever sent to requests that declare that revision. */
export const HEADER_MISMATCH = -32020;
/** The connection behind a request closed before its answer (the SDKs' ConnectionClosed). */
export const CONNECTION_CLOSED = -32000;

/**
 * The sidecar's own codes for resources and prompts decisions, inside the implementation range
 * -32000…-32019 (2026-07-28 reserves -32020…-32099 for the protocol; ADR 0151).
 */
export const POLICY_DENIED = -32010;
export const RATE_LIMITED = -32011;
/** What MCP servers answer for a resource that does not exist (a hidden resource looks like one). */
export const RESOURCE_NOT_FOUND = -32002;

export interface JsonRpcErrorAnswer {
  jsonrpc: "2.0";
  id: RequestId | null;
  error: { code: number; message: string; data?: unknown };
}

export function rpcError(id: RequestId | null, code: number, message: string, data?: unknown): JsonRpcErrorAnswer {
  return { jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } };
}
