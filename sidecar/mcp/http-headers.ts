// Which headers cross the proxy. Everything passes except hop-by-hop headers (RFC 9110 §7.6.1, plus
// those a Connection header names), the caller's credentials, and what the proxy sets itself.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
  "transfer-encoding", "upgrade",
]);

/** Never sent upstream: the caller's credential, and what undici computes for the upstream leg. */
const NOT_FORWARDED_UPSTREAM = new Set(["authorization", "cookie", "host", "content-length", "expect", "accept-encoding", "http2-settings"]);
/** Never relayed to the client: the proxy frames its own answer. */
const NOT_RELAYED_DOWNSTREAM = new Set(["content-length", "date"]);

function connectionTokens(value: string | string[] | undefined): Set<string> {
  const tokens = new Set<string>();
  for (const v of Array.isArray(value) ? value : value ? [value] : []) {
    for (const t of v.split(",")) if (t.trim()) tokens.add(t.trim().toLowerCase());
  }
  return tokens;
}

export interface ForwardedFor {
  /** Address of the connecting client. */
  remoteAddress: string | undefined;
  /** Host the client asked for. */
  host: string | undefined;
  proto: "http" | "https";
}

/** Request headers for the upstream leg. */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, forwarded: ForwardedFor): Record<string, string | string[]> {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_FORWARDED_UPSTREAM.has(name) || named.has(name)) continue;
    if (name === "x-forwarded-for" || name === "x-forwarded-host" || name === "x-forwarded-proto") continue;
    out[name] = value;
  }
  const prior = incoming["x-forwarded-for"];
  const chain = [...(Array.isArray(prior) ? prior : prior ? [prior] : []), forwarded.remoteAddress].filter(Boolean);
  if (chain.length > 0) out["x-forwarded-for"] = chain.join(", ");
  if (forwarded.host) out["x-forwarded-host"] = forwarded.host;
  out["x-forwarded-proto"] = forwarded.proto;
  return out;
}

/** Response headers for the client, from undici's response headers. */
export function downstreamResponseHeaders(upstream: Record<string, string | string[] | undefined>, options: { keepLength: boolean }): OutgoingHttpHeaders {
  const named = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (NOT_RELAYED_DOWNSTREAM.has(name) && !(options.keepLength && name === "content-length")) continue;
    out[name] = value;
  }
  return out;
}

export function headerValue(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  return (contentType.split(";")[0] as string).trim().toLowerCase();
}

/** A JSON request body's Content-Type: application/json, and UTF-8 if a charset is named. */
export function isJsonRequestContentType(contentType: string | undefined): boolean {
  if (mediaType(contentType) !== "application/json") return false;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? "")?.[1];
  return charset === undefined || charset.toLowerCase() === "utf-8" || charset.toLowerCase() === "utf8";
}
