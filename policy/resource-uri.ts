// The form of a resource URI that `resources:` rules are matched against. Servers read URIs in
// different ways (one decodes `%73ecret`, another resolves `public/../secret` against its file system,
// a third folds `FILE:` into `file:`), so the policy decides the RFC 3986 normal form (scheme and host
// in lower case, percent-encoded unreserved characters decoded, other escapes in upper case) and
// refuses what has no single reading: dot segments, empty segments, encoded or back slashes, double
// encoding, control characters, oversized URIs. See docs/adr/0156-resource-uri-normal-form.md.

export type NormalUri = { readonly ok: true; readonly uri: string } | { readonly ok: false; readonly problem: string };

/** Longer URIs are refused: globs cost O(uri × pattern). */
export const MAX_RESOURCE_URI_LENGTH = 8192;

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/su;
const UNRESERVED = /[A-Za-z0-9\-._~]/u;
const FORBIDDEN: readonly [RegExp, string][] = [
  [/\p{Cc}/u, "control characters"],
  [/\\/u, "back slashes"],
  [/%(2f|5c)/iu, "percent-encoded slashes"],
  [/%00/u, "an encoded NUL"],
  [/%25[0-9A-Fa-f]{2}/u, "double percent-encoding"],
];

export function normalResourceUri(uri: string): NormalUri {
  if (uri.length > MAX_RESOURCE_URI_LENGTH) return refuse(`it is longer than ${MAX_RESOURCE_URI_LENGTH} characters`);
  for (const [pattern, what] of FORBIDDEN) if (pattern.test(uri)) return refuse(`it contains ${what}`);
  const decoded = uri.replace(/%([0-9A-Fa-f]{2})/gu, (escape: string, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  const scheme = SCHEME.exec(decoded);
  const rest = scheme ? (scheme[2] as string) : decoded;
  const { authority, tail } = splitAuthority(rest);
  // Every `/`-separated segment counts, query and fragment included: a server that reads the whole
  // tail as a path must not find a `..` in it either.
  const segments = tail.split("/");
  if (segments.some((s) => s === "." || s === "..")) return refuse("it contains a dot segment ('.' or '..')");
  const path = tail.split(/[?#]/u)[0] as string;
  if (
    path
      .split("/")
      .slice(1, -1)
      .some((s) => s === "")
  )
    return refuse("it contains an empty path segment ('//')");
  const head = scheme ? `${(scheme[1] as string).toLowerCase()}:` : "";
  return { ok: true, uri: `${head}${authority === undefined ? "" : `//${authority.toLowerCase()}`}${tail}` };
}

function splitAuthority(rest: string): { authority: string | undefined; tail: string } {
  if (!rest.startsWith("//")) return { authority: undefined, tail: rest };
  const end = rest.slice(2).search(/[/?#]/u);
  return end === -1
    ? { authority: rest.slice(2), tail: "" }
    : { authority: rest.slice(2, end + 2), tail: rest.slice(end + 2) };
}

function refuse(why: string): NormalUri {
  return { ok: false, problem: `the resource URI is refused because ${why}; send it in normal form` };
}

/**
 * The readings of a normal URI a server may serve the same bytes for: itself, without its query and
 * fragment, and without a trailing slash. A deny or hide rule on any of them covers the URI.
 */
export function uriReadings(uri: string): string[] {
  const base = uri.split(/[?#]/u)[0] as string;
  const trimmed =
    base.length > 1 && base.endsWith("/") && !base.endsWith(":/") && !base.endsWith("//") ? base.slice(0, -1) : base;
  return [...new Set([uri, base, trimmed])];
}
