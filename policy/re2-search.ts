// Whether a regular expression matches somewhere in a string, on RE2 (linear time), as JSON Schema's
// `pattern` and the `format` regexes ask. RE2JS' lazy DFA resolves `^` and `$` (empty-width
// assertions) again at every character of states that contain them, and an unanchored search keeps
// the pattern's start, `^` included, in every state: `^[a-z]+$` then costs ~0.35 µs a character
// instead of ~0.02. Top-level anchors are therefore turned into the anchoring of the match:
//   ^P$ → P matches the whole string;  ^P → P.* does;  P$ → .*P does;  P → search.
import { compileRe2 } from "./cel/environment.ts";

export type Re2Test = (value: string) => boolean;

export function compileRe2Search(pattern: string): Re2Test {
  const { body, start, end } = topLevelAnchors(pattern);
  if (!start && !end) {
    const compiled = compileRe2(pattern);
    return (value) => compiled.test(value);
  }
  const whole = `${start ? "" : "(?s:.*)"}(?:${body})${end ? "" : "(?s:.*)"}`;
  const compiled = compileRe2(whole);
  return (value) => compiled.testExact(value);
}

interface Anchors {
  readonly body: string;
  readonly start: boolean;
  readonly end: boolean;
}

/**
 * A leading `^` and a trailing `$` that anchor the whole pattern: outside any group or class, with no
 * top-level `|` (in `^a|b` the `^` anchors one alternative only). Anything unusual keeps the search.
 */
export function topLevelAnchors(pattern: string): Anchors {
  const none = { body: pattern, start: false, end: false };
  // With the m flag, ^ and $ are line anchors: keep the search.
  if (/\(\?[a-zA-Z-]*m/.test(pattern)) return none;
  const scan = scanTopLevel(pattern);
  if (scan === undefined) return none;
  const start = pattern.startsWith("^");
  const end = scan.endsWithDollar && pattern.length > (start ? 1 : 0);
  const body = pattern.slice(start ? 1 : 0, end ? -1 : undefined);
  // `^^a` or `a$$`: repeated anchors are rare enough to keep the search.
  if ((start && body.startsWith("^")) || (end && body.endsWith("$") && topLevelAnchors(body).end)) return none;
  return { body, start, end };
}

/**
 * Reads the pattern's top level (outside groups and classes): whether its last character is an
 * unescaped `$` there; undefined when a top-level `|` or an unbalanced group or class makes anchors
 * unclear (RE2 reports the syntax errors).
 */
function scanTopLevel(pattern: string): { endsWithDollar: boolean } | undefined {
  let depth = 0;
  let inClass = false;
  let endsWithDollar = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      // A `]` right after `[` or `[^` is a literal.
      if (pattern[i + 1] === "^") i++;
      if (pattern[i + 1] === "]") i++;
    } else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "|" && depth === 0) return undefined;
    else if (c === "$" && depth === 0 && i === pattern.length - 1) endsWithDollar = true;
  }
  return inClass || depth !== 0 ? undefined : { endsWithDollar };
}
