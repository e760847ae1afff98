// Which headers cross the proxy. Everything passes except hop-by-hop headers (RFC 9110 §7.6.1, plus
// those a Connection header names), the caller's credentials, the client's framing of its body (the
// sidecar describes the body it sends itself), client-supplied forwarding headers (rewritten by the
// sidecar), and what the proxy sets itself.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { parseContentType } from "./content-type.ts";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Never sent upstream: the caller's credential, what undici computes for the upstream leg, how the
 * client encoded its body (the sidecar sends its own body, described by its own Content-Type), and
 * forwarding headers the client could forge (the sidecar writes X-Forwarded-* itself).
 */
const NOT_FORWARDED_UPSTREAM = new Set([
  "authorization",
  "cookie",
  "host",
  "content-length",
  "expect",
  "accept-encoding",
  "http2-settings",
  "content-type",
  "content-encoding",
  "forwarded",
  "x-real-ip",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
]);

/** The only tokens a client's Connection header may carry (RFC 9112 §9.3, §9.6): none names a header. */
const CONNECTION_OPTIONS = new Set(["close", "keep-alive"]);
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

/**
 * Why a request's Connection header is refused, if it is. A client's Connection header may name
 * hop-by-hop headers, which a proxy must drop: a header the sidecar reads (the session id, the
 * protocol version, the credential...) would then be checked here and missing upstream, or the
 * other way round. So only `close` and `keep-alive` are accepted; naming any header is a 400.
 */
export function connectionHeaderProblem(incoming: IncomingHttpHeaders): string | undefined {
  const named = [...connectionTokens(incoming.connection)].filter((t) => !CONNECTION_OPTIONS.has(t));
  return named.length === 0
    ? undefined
    : `the Connection header may only say close or keep-alive, not ${named.map((t) => JSON.stringify(t)).join(", ")}`;
}

export interface UpstreamRequestOptions {
  /** The sidecar sends a body: it is JSON in UTF-8, and says so with its own Content-Type. */
  jsonBody: boolean;
}

/** Request headers for the upstream leg. */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  forwarded: ForwardedFor,
  options: UpstreamRequestOptions,
): Record<string, string | string[]> {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_FORWARDED_UPSTREAM.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  // Answers must be readable by the sidecar (tools/list filtering, id mapping): no encoding.
  out["accept-encoding"] = "identity";
  if (options.jsonBody) out["content-type"] = "application/json";
  const prior = incoming["x-forwarded-for"];
  const chain = [...(Array.isArray(prior) ? prior : prior ? [prior] : []), forwarded.remoteAddress].filter(Boolean);
  if (chain.length > 0) out["x-forwarded-for"] = chain.join(", ");
  if (forwarded.host) out["x-forwarded-host"] = forwarded.host;
  out["x-forwarded-proto"] = forwarded.proto;
  return out;
}

/** Response headers for the client, from undici's response headers. */
export function downstreamResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  options: { keepLength: boolean },
): OutgoingHttpHeaders {
  const named = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (NOT_RELAYED_DOWNSTREAM.has(name) && !(options.keepLength && name === "content-length")) continue;
    out[name] = value;
  }
  return out;
}

export function headerValue(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  return (contentType.split(";")[0] as string).trim().toLowerCase();
}

/**
 * A JSON request body's Content-Type: application/json (RFC 9110 syntax, no parameter twice), and
 * `charset=utf-8` if a charset is named at all. Other parameters are allowed: they never cross, the
 * upstream gets the sidecar's own `application/json`.
 */
export function isJsonRequestContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const parsed = parseContentType(contentType);
  if (!parsed.ok || parsed.mediaType.essence !== "application/json") return false;
  const charset = parsed.mediaType.parameters.get("charset");
  return charset === undefined || charset.toLowerCase() === "utf-8";
}

/** Whether a request's body carries a Content-Encoding other than identity (refused: 415). */
export function hasRequestContentEncoding(incoming: IncomingHttpHeaders): boolean {
  const value: string | string[] | undefined = incoming["content-encoding"];
  if (value === undefined) return false;
  const values: string[] = typeof value === "string" ? [value] : value;
  const codings = values.flatMap((v) => v.split(","));
  return codings.some((coding) => coding.trim().toLowerCase() !== "identity");
}
