// The JSON Schema `format`s a policy may use, every one checked in time linear in the string: the
// regular expressions of ajv-formats' full mode compiled on RE2 (no backtracking), rewritten where
// they used lookaround, which RE2 does not have. ajv-formats' own regexes run on V8's backtracking
// engine, and its `url` (also in "fast" mode) is quadratic: 96 KB of ':' held the event loop 10 s.
// Strings longer than MAX_FORMAT_STRING_LENGTH fail every string format before any regex runs.
// Every check compiles its regex on its first call, so loading this module loads neither RE2 nor
// ajv-formats (a policy without argument schemas never needs them; policy/libraries.ts).
import type { fullFormats } from "ajv-formats/dist/formats.js";
import { ajvFormatsLibrary, re2Library } from "./libraries.ts";
import { topLevelAnchors } from "./re2-search.ts";

/**
 * The longest string a `format` is checked on. Formats describe short tokens (a URL, an address, a
 * date); 8 KiB is above the longest URL browsers and proxies accept (RFC 9110 recommends 8000 octets),
 * and at that length every format below costs well under a millisecond.
 */
export const MAX_FORMAT_STRING_LENGTH = 8192;

type StringCheck = (value: string) => boolean;
type NumberCheck = (value: number) => boolean;
export type SafeFormat = { type: "string"; validate: StringCheck } | { type: "number"; validate: NumberCheck } | true;

/** A check built by `build` on its first call. */
const lazy = (build: () => StringCheck): StringCheck => {
  let check: StringCheck | undefined;
  return (value) => (check ??= build())(value);
};

/** Every format regex is anchored at both ends: its body is matched against the whole string (an
 * RE2JS search, or `^`/`$` left in the regex, cost an order of magnitude more on long strings). */
const re2Now = (source: string, caseInsensitive: boolean): StringCheck => {
  const { body, start, end } = topLevelAnchors(source);
  if (!start || !end) throw new Error(`format regex not anchored at both ends: ${source}`);
  const RE2JS = re2Library();
  const compiled = RE2JS.compile(body, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
  return (value) => compiled.testExact(value);
};
const re2 = (source: string, caseInsensitive = false): StringCheck => lazy(() => re2Now(source, caseInsensitive));
const re2i = (source: string): StringCheck => re2(source, true);
const both =
  (...checks: StringCheck[]): StringCheck =>
  (value) =>
    checks.every((check) => check(value));

/** ajv-formats' full-mode regex for a format, to be compiled on RE2 unchanged. */
function fullRegex(name: keyof typeof fullFormats): RegExp {
  const format = ajvFormatsLibrary().fullFormats[name];
  if (format instanceof RegExp) return format;
  throw new Error(`ajv-formats' ${name} is not a regular expression`);
}
const fromFull = (name: keyof typeof fullFormats): StringCheck =>
  lazy(() => {
    const regex = fullRegex(name);
    return re2Now(regex.source, regex.flags.includes("i"));
  });

const fromFast = (name: "uri" | "uri-reference"): StringCheck =>
  lazy(() => {
    const regex = ajvFormatsLibrary().fastFormats[name];
    if (!(regex instanceof RegExp)) throw new Error(`ajv-formats' fast ${name} is not a regular expression`);
    return re2Now(regex.source, regex.flags.includes("i"));
  });

/** ajv-formats' full-mode function for a format (date and time arithmetic), run only on strings an
 * RE2 shape check has already accepted, so its own fixed-shape regexes cannot backtrack. */
function fullFunction(name: "date" | "time" | "date-time" | "iso-time" | "iso-date-time" | "regex"): StringCheck {
  return lazy(() => {
    const format = ajvFormatsLibrary().fullFormats[name] as unknown;
    if (typeof format === "function") return format as StringCheck;
    const validate = (format as { validate?: unknown }).validate;
    if (typeof validate === "function") return validate as StringCheck;
    throw new Error(`ajv-formats' ${name} is not a function`);
  });
}

const TIME_SHAPE = String.raw`\d\d:\d\d:\d\d(?:\.\d+)?(?:z|[+-]\d\d(?::?\d\d)?)?`;
const DATE_SHAPE = String.raw`\d\d\d\d-\d\d-\d\d`;

// RFC 3339 duration; `(?!$)` and `T(?=\d)` of the original become: something follows P, nothing
// ends in T (every T is followed by a digit group in this grammar).
const durationShape = re2(String.raw`^P(?:(?:\d+Y)?(?:\d+M)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?|(?:\d+W)?)$`);
const duration: StringCheck = (value) => value.length > 1 && !value.endsWith("T") && durationShape(value);

// RFC 1123 host name; the original's `(?=.{1,253}\.?$)` is the length check.
const hostnameShape = re2i(
  String.raw`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?)*\.?$`,
);
const hostname: StringCheck = (value) => {
  const length = value.endsWith(".") ? value.length - 1 : value.length;
  return length >= 1 && length <= 253 && hostnameShape(value);
};

// dperini's URL regex as ajv-formats has it, with its negative lookaheads (no 10/8, 127/8,
// 169.254/16, 192.168/16, 172.16/12 literals) spelt out as the octets that remain.
const OCTET = String.raw`(?:1?\d{1,2}|2[0-4]\d|25[0-5])`;
const LAST_OCTET = String.raw`(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4])`;
const PUBLIC_IPV4 = [
  String.raw`(?:[1-9]|1[1-9]|[2-9]\d|1[013458]\d|12[0-689]|16[0-8]|17[013-9]|19[013-9]|2[01]\d|22[0-3])\.${OCTET}`,
  String.raw`169\.(?:1?\d{1,2}|2[0-4]\d|25[0-35])`,
  String.raw`172\.(?:\d|0\d|1[0-5]|3[2-9]|[4-9]\d|1\d\d|2[0-4]\d|25[0-5])`,
  String.raw`192\.(?:\d{1,2}|1[0-57-9]\d|16[0-79]|2[0-4]\d|25[0-5])`,
]
  .map((firstTwo) => String.raw`${firstTwo}\.${OCTET}\.${LAST_OCTET}`)
  .join("|");
const LABEL = String.raw`(?:[a-z0-9\x{00a1}-\x{ffff}]+-)*[a-z0-9\x{00a1}-\x{ffff}]+`;
const url = re2i(
  String.raw`^(?:https?|ftp)://(?:\S+(?::\S*)?@)?(?:${PUBLIC_IPV4}|${LABEL}(?:\.${LABEL})*\.[a-z\x{00a1}-\x{ffff}]{2,})(?::\d{2,5})?(?:/\S*)?$`,
);

// uri and uri-reference: ajv-formats' fast grammars (scheme, then no whitespace). Its full RFC 3986
// regex is linear on RE2 too, but this RE2 builds its DFA lazily in JavaScript: up to 230 ms on a
// fresh 8 KiB input, more than a liveness probe can wait.
const uri = fromFast("uri");
const uriReference = fromFast("uri-reference");

// ajv-formats tests base64 with the `m` flag, so any empty line passes; here the whole string must be base64.
const byte = re2(String.raw`^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$`);

const stringFormats: Record<string, StringCheck> = {
  date: both(re2(`^${DATE_SHAPE}$`), fullFunction("date")),
  time: both(re2i(`^${TIME_SHAPE}$`), fullFunction("time")),
  "date-time": both(re2i(String.raw`^${DATE_SHAPE}[t\s]${TIME_SHAPE}$`), fullFunction("date-time")),
  "iso-time": both(re2i(`^${TIME_SHAPE}$`), fullFunction("iso-time")),
  "iso-date-time": both(re2i(String.raw`^${DATE_SHAPE}[t\s]${TIME_SHAPE}$`), fullFunction("iso-date-time")),
  duration,
  uri,
  "uri-reference": uriReference,
  "uri-template": fromFull("uri-template"),
  url,
  email: fromFull("email"),
  hostname,
  ipv4: fromFull("ipv4"),
  ipv6: fromFull("ipv6"),
  // Whether the string is an ECMAScript regex: V8 parses it (linear), nothing is matched.
  regex: fullFunction("regex"),
  uuid: fromFull("uuid"),
  "json-pointer": fromFull("json-pointer"),
  "json-pointer-uri-fragment": fromFull("json-pointer-uri-fragment"),
  "relative-json-pointer": fromFull("relative-json-pointer"),
  byte,
};

const bounded =
  (check: StringCheck): StringCheck =>
  (value) =>
    value.length <= MAX_FORMAT_STRING_LENGTH && check(value);

const MIN_INT32 = -(2 ** 31);
const MAX_INT32 = 2 ** 31 - 1;

/** Every format ajv-formats knows, by name; an unknown format stays a load error (Ajv strict mode). */
export const SAFE_FORMATS: Readonly<Record<string, SafeFormat>> = Object.freeze({
  ...Object.fromEntries(
    Object.entries(stringFormats).map(([name, check]): [string, SafeFormat] => [
      name,
      { type: "string", validate: bounded(check) },
    ]),
  ),
  int32: numberFormat((value) => Number.isInteger(value) && value <= MAX_INT32 && value >= MIN_INT32),
  int64: numberFormat((value) => Number.isInteger(value)),
  float: numberFormat(() => true),
  double: numberFormat(() => true),
  password: true,
  binary: true,
});

function numberFormat(validate: NumberCheck): SafeFormat {
  return { type: "number", validate };
}

/**
 * Runs every string format once on short inputs of the shapes callers send, at most once a process.
 * RE2JS builds its DFA states lazily and V8 compiles its matching loops on first use: cold, one 8 KiB
 * argument cost up to 77 ms; warm, under 5 ms. Warming takes a few milliseconds, at policy load.
 */
export function warmSafeFormats(): void {
  if (warmed) return;
  warmed = true;
  for (const format of Object.values(SAFE_FORMATS)) {
    if (format === true || format.type !== "string") continue;
    for (const input of WARM_UP_INPUTS) format.validate(input);
  }
}

let warmed = false;
export const WARM_UP_INPUTS: readonly string[] = [
  "",
  "a",
  "A",
  "1",
  "http://a.b/c",
  "https://example.com:8080/a?b#c",
  "a@b.c",
  "2024-01-01T00:00:00Z",
  "P1D",
  "::1",
  "1.2.3.4",
  ":".repeat(64),
  "a-".repeat(32) + "!",
  "/a".repeat(32) + " ",
  "a.".repeat(32) + "-",
  "\u00e9\u4e00 \t\n",
  "%41~0{}[]",
];
