// The Content-Type of a request body, parsed by the grammar of RFC 9110 §8.3.1 and §5.6 (media type,
// parameters, tokens, quoted-strings with quoted-pairs) rather than matched with a regex: a parameter
// value that merely contains `charset=` inside a quoted-string must never be read as the charset, and
// a header that names a parameter twice is refused, because two readers could each pick a different one.
// Strict on purpose: anything outside the grammar is refused, never guessed at.

export interface MediaType {
  /** `type/subtype`, lower-cased (case-insensitive per RFC 9110). */
  readonly essence: string;
  /** Parameter names lower-cased; values as sent, quoted-strings unescaped. */
  readonly parameters: ReadonlyMap<string, string>;
}

export type ParsedContentType = { ok: true; mediaType: MediaType } | { ok: false; problem: string };

/** tchar of RFC 9110 §5.6.2, as a lookup table by character code. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
  TCHAR[c.charCodeAt(0)] = 1;

function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

function isQdtext(code: number): boolean {
  return (
    code === 0x09 ||
    code === 0x20 ||
    code === 0x21 ||
    (code >= 0x23 && code <= 0x5b) ||
    (code >= 0x5d && code <= 0x7e) ||
    (code >= 0x80 && code <= 0xff)
  );
}

function isQuotedPairChar(code: number): boolean {
  return code === 0x09 || (code >= 0x20 && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
}

/** Reads a quoted-string starting at `start` (the opening DQUOTE); returns its value and the index after it. */
function readQuotedString(text: string, start: number): { value: string; end: number } | undefined {
  let value = "";
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return { value, end: i + 1 };
    if (code === 0x5c) {
      const next = text.charCodeAt(++i);
      if (Number.isNaN(next) || !isQuotedPairChar(next)) return undefined;
      value += text[i];
    } else if (isQdtext(code)) value += text[i];
    else return undefined;
  }
  return undefined; // unterminated
}

function readToken(text: string, start: number): { value: string; end: number } {
  let end = start;
  while (end < text.length && isTchar(text.charCodeAt(end))) end++;
  return { value: text.slice(start, end), end };
}

function skipOws(text: string, i: number): number {
  while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  return i;
}

export function parseContentType(header: string): ParsedContentType {
  const text = header.replace(/^[ \t]+|[ \t]+$/g, "");
  const type = readToken(text, 0);
  if (type.value === "" || text[type.end] !== "/") return { ok: false, problem: "not a media type (type/subtype)" };
  const subtype = readToken(text, type.end + 1);
  if (subtype.value === "") return { ok: false, problem: "not a media type (type/subtype)" };
  const parameters = new Map<string, string>();
  let i = subtype.end;
  while (i < text.length) {
    i = skipOws(text, i);
    if (text[i] !== ";") return { ok: false, problem: `unexpected character at offset ${i}` };
    i = skipOws(text, i + 1);
    if (i >= text.length || text[i] === ";") continue; // an empty parameter is allowed by the grammar
    const name = readToken(text, i);
    if (name.value === "" || text[name.end] !== "=")
      return { ok: false, problem: `malformed parameter at offset ${i}` };
    const key = name.value.toLowerCase();
    let value: { value: string; end: number } | undefined;
    if (text[name.end + 1] === '"') value = readQuotedString(text, name.end + 1);
    else {
      const token = readToken(text, name.end + 1);
      value = token.value === "" ? undefined : token;
    }
    if (!value) return { ok: false, problem: `malformed value of parameter "${key}"` };
    if (parameters.has(key)) return { ok: false, problem: `parameter "${key}" appears twice` };
    parameters.set(key, value.value);
    i = value.end;
  }
  return { ok: true, mediaType: { essence: `${type.value}/${subtype.value}`.toLowerCase(), parameters } };
}
