// The redacted preview of a call's arguments that a person reads before approving it (McpApproval
// spec.args, and the elicitation prompt). It is bounded (at most `maxBytes` UTF-8 bytes of canonical
// JSON, shrinking detail until it fits) and it leaves secrets out: values under secret-looking keys,
// and secret-looking text anywhere (JWTs, PEM private keys, Bearer/Basic credentials, passwords in
// URLs, `password: …`-style assignments, well-known token formats). The preview only informs the
// approver; what is approved is the digest of the exact arguments.
import { canonicalJson } from "./canonical-json.ts";

export const REDACTED = "[redacted]";

export interface PreviewLimits {
  /** Longest string shown whole; longer ones are cut and say by how much. */
  readonly maxString: number;
  /** Members of an object or items of an array shown; the rest are counted. */
  readonly maxEntries: number;
  /** Nesting shown; deeper values become "{…}" / "[…]". */
  readonly maxDepth: number;
}

/** Detail levels tried in order until the preview fits. The last always fits 2 KiB. */
const LEVELS: readonly PreviewLimits[] = [
  { maxString: 256, maxEntries: 32, maxDepth: 6 },
  { maxString: 96, maxEntries: 16, maxDepth: 4 },
  { maxString: 40, maxEntries: 8, maxDepth: 3 },
  { maxString: 16, maxEntries: 8, maxDepth: 1 },
];
const MAX_KEY = 64;
export const DEFAULT_PREVIEW_BYTES = 2048;

/** Key names whose values are never shown (compared without case, `-`, `_`, `.` or spaces). */
const SECRET_KEY_SUFFIXES = [
  "password",
  "passwd",
  "passphrase",
  "secret",
  "token",
  "apikey",
  "accesskey",
  "secretkey",
  "privatekey",
  "credential",
  "credentials",
  "authorization",
  "cookie",
  "signature",
  "bearer",
];
const SECRET_KEYS_EXACT = new Set(["auth", "pwd", "pass", "otp"]);

export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_.\s]/g, "");
  return SECRET_KEYS_EXACT.has(k) || SECRET_KEY_SUFFIXES.some((s) => k.endsWith(s));
}

/** Secret-looking text inside strings, each replaced by what is left to say about it. */
const SECRET_TEXT: ReadonlyArray<[RegExp, string]> = [
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, "[redacted private key]"],
  [/\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*/g, "[redacted token]"],
  [/\b(Bearer|Basic|Token)(\s+)[A-Za-z0-9._~+/=-]{8,}/gi, `$1$2${REDACTED}`],
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:)[^\s@/]+@/gi, `$1${REDACTED}@`],
  [
    /\b((?:[A-Za-z0-9]+[_-])?(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key))(["']?\s*[:=]\s*["']?)(?!\[redacted)[^\s"',;&}]+/gi,
    `$1$2${REDACTED}`,
  ],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, REDACTED],
  [
    /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b|\bgithub_pat_[A-Za-z0-9_]{20,}\b|\bglpat-[A-Za-z0-9_-]{20,}\b/g,
    REDACTED,
  ],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g, REDACTED],
  [/\bsk-[A-Za-z0-9_-]{20,}\b/g, REDACTED],
];

export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_TEXT) out = out.replace(pattern, replacement);
  return out;
}

/** Canonical JSON of the redacted, shortened arguments, at most `maxBytes` UTF-8 bytes. */
export function argumentsPreview(args: unknown, maxBytes = DEFAULT_PREVIEW_BYTES): string {
  for (const limits of LEVELS) {
    const text = canonicalJson(previewValue(args, limits, 0));
    if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  }
  // Only keys at depth 1, each value elided: bounded by maxEntries × (MAX_KEY + a few bytes).
  const keys = typeof args === "object" && args !== null && !Array.isArray(args) ? Object.keys(args).sort() : [];
  const shown: Record<string, string> = {};
  for (const key of keys.slice(0, 8)) shown[cutKey(key)] = "…";
  if (keys.length > 8) shown["…"] = `+${keys.length - 8} more`;
  const text = canonicalJson(shown);
  return Buffer.byteLength(text, "utf8") <= maxBytes ? text : JSON.stringify("…");
}

function previewValue(value: unknown, limits: PreviewLimits, depth: number): unknown {
  if (typeof value === "string") return previewString(value, limits.maxString);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    if (depth >= limits.maxDepth) return value.length === 0 ? [] : "[…]";
    const items = value.slice(0, limits.maxEntries).map((v) => previewValue(v, limits, depth + 1));
    if (value.length > limits.maxEntries) items.push(`… +${value.length - limits.maxEntries} more`);
    return items;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  if (depth >= limits.maxDepth) return keys.length === 0 ? {} : "{…}";
  const out: Record<string, unknown> = {};
  for (const key of keys.slice(0, limits.maxEntries)) {
    out[cutKey(key)] = isSecretKey(key) ? REDACTED : previewValue(record[key], limits, depth + 1);
  }
  if (keys.length > limits.maxEntries) out["…"] = `+${keys.length - limits.maxEntries} more`;
  return out;
}

function previewString(value: string, max: number): string {
  const redacted = redactText(value);
  const chars = [...redacted];
  if (chars.length <= max) return redacted;
  return `${chars.slice(0, max).join("")}… (+${chars.length - max} chars)`;
}

function cutKey(key: string): string {
  const chars = [...key];
  return chars.length > MAX_KEY ? `${chars.slice(0, MAX_KEY).join("")}…` : key;
}
