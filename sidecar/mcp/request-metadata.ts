// The 2026-07-28 request metadata headers (Mcp-Method, Mcp-Name) mirror the body so intermediaries can
// route without parsing. The sidecar decides on the body; a header that says something else would let
// a component that trusts the header see a different call than the upstream runs, so any
// disagreement is rejected, in every revision.
import type { IncomingHttpHeaders } from "node:http";
import { headerValue } from "./http-headers.ts";
import type { ClientMessage } from "./jsonrpc.ts";

/** The first revision that defines the metadata headers and the HeaderMismatch error. */
export const MODERN_REVISION = "2026-07-28";

const BASE64_SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/** Decodes the `=?base64?…?=` form; undefined when the value is not valid. */
export function decodeHeaderValue(value: string): string | undefined {
  const match = BASE64_SENTINEL.exec(value);
  if (!match) return value.startsWith("=?base64?") ? undefined : value;
  const bytes = Buffer.from(match[1] as string, "base64");
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  return Buffer.from(text, "utf8").equals(bytes) ? text : undefined;
}

/** Whether the request declares a revision that defines HeaderMismatch (-32020). */
export function declaresModernRevision(headers: IncomingHttpHeaders): boolean {
  const version = headerValue(headers, "mcp-protocol-version");
  return version !== undefined && version >= MODERN_REVISION;
}

/** The revision a request declares in its `_meta` (2026-07-28 carries it on every request). */
export function declaredRevision(message: ClientMessage): string | undefined {
  if (message.kind !== "request" && message.kind !== "notification") return undefined;
  const meta = (message.params as { _meta?: Record<string, unknown> } | undefined)?._meta;
  const version =
    typeof meta === "object" && meta !== null ? meta["io.modelcontextprotocol/protocolVersion"] : undefined;
  return typeof version === "string" ? version : undefined;
}

/** Whether answers to this message must follow the 2026-07-28 result rules (e.g. `resultType`). */
export function isModernMessage(headers: IncomingHttpHeaders, message: ClientMessage): boolean {
  const declared = declaredRevision(message);
  return declared !== undefined ? declared >= MODERN_REVISION : declaresModernRevision(headers);
}

/** The body field a request's Mcp-Name mirrors. */
function nameSource(message: ClientMessage): unknown {
  if (message.kind !== "request" && message.kind !== "notification") return undefined;
  const params = message.params as Record<string, unknown> | undefined;
  if (typeof params !== "object" || params === null) return undefined;
  if (message.method === "resources/read") return params.uri;
  if (message.method === "tools/call" || message.method === "prompts/get") return params.name;
  return undefined;
}

const shown = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);

/** What is wrong with the metadata headers of a POST, or undefined when they agree with the body. */
export function metadataMismatch(
  headers: IncomingHttpHeaders,
  messages: readonly ClientMessage[],
  batch: boolean,
): string | undefined {
  const methodHeader = headerValue(headers, "mcp-method");
  const nameHeader = headerValue(headers, "mcp-name");
  if (methodHeader === undefined && nameHeader === undefined) return undefined;
  if (batch) return "Mcp-Method and Mcp-Name headers describe one message; they cannot accompany a batch";
  const message = messages[0] as ClientMessage;
  const method = message.kind === "request" || message.kind === "notification" ? message.method : undefined;
  if (methodHeader !== undefined && methodHeader !== method) {
    return `Mcp-Method header value '${shown(methodHeader)}' does not match body value '${shown(method ?? "(none)")}'`;
  }
  if (nameHeader !== undefined) {
    const decoded = decodeHeaderValue(nameHeader);
    if (decoded === undefined) return "Mcp-Name header has an invalid =?base64?…?= value";
    const source = nameSource(message);
    if (typeof source !== "string" || decoded !== source) {
      return `Mcp-Name header value '${shown(decoded)}' does not match body value '${typeof source === "string" ? shown(source) : "(none)"}'`;
    }
  }
  return undefined;
}
