// Finds detector matches in strings, for every detector a result's rules name, in one pass over the
// result's strings. Each string is first tested by each detector's RE2 automaton (@bufbuild/re2: a
// DFA, linear, fast when nothing matches: the usual case); only a string a detector matches is
// searched again for the positions (re2js: RE2 with match positions, also linear). A match that
// fails its detector's validator is no finding. Compiled once per policy.
import { re2jsLibrary, re2Library } from "../libraries.ts";
import type { DetectorDefinition } from "./detectors.ts";
import { quickCheckFor, validatorFor } from "./validators.ts";

export interface Finding {
  readonly detector: string;
  readonly start: number;
  readonly end: number;
  /** The detector's place in its scanner: overlapping findings are named after the lowest. */
  readonly rank?: number | undefined;
}

export interface CompiledDetector {
  readonly name: string;
  /** Every validated match in `text`, in order; `lower` is `text` in lower case, when already made. */
  find(text: string, lower?: string): Finding[];
}

/** Compiles a detector; throws (with RE2's message) when its pattern is not valid RE2. */
export function compileDetector(definition: DetectorDefinition): CompiledDetector {
  const probe = re2Library().compile(definition.pattern);
  const locate = re2jsLibrary().compile(definition.pattern);
  const secretGroup = locate.namedGroups().secret;
  const valid = definition.validator
    ? validatorFor(definition.validator, { minEntropy: definition.minEntropy })
    : undefined;
  const name = definition.name;
  const literals = definition.literals?.map((l) => l.toLowerCase());
  const minLength = definition.minLength ?? 1;
  const quickCheck = definition.validator ? quickCheckFor(definition.validator) : undefined;
  return {
    name,
    find(text, lower) {
      if (text.length < minLength) return [];
      if (literals && !literals.some((l) => (lower ??= text.toLowerCase()).includes(l))) return [];
      if (quickCheck && !quickCheck(text)) return [];
      if (!probe.test(text)) return [];
      const findings: Finding[] = [];
      const matcher = locate.matcher(text);
      // Each search starts where the last match ended: the scan stays linear even when a long
      // match fails its validator.
      while (matcher.find()) {
        const hasSecret = secretGroup !== undefined && matcher.start(secretGroup) >= 0;
        const start = hasSecret ? matcher.start(secretGroup) : matcher.start();
        const end = hasSecret ? matcher.end(secretGroup) : matcher.end();
        if (end <= start) continue;
        if (valid && !valid(text.slice(start, end))) continue;
        findings.push({ detector: name, start, end });
      }
      return findings;
    },
  };
}

/** The problem with a detector's pattern, or undefined when RE2 accepts it. */
export function patternProblem(pattern: string): string | undefined {
  try {
    re2Library().compile(pattern);
    const locate = re2jsLibrary().compile(pattern);
    if (locate.matcher("").matches() && pattern.length > 0)
      return "matches the empty string, so it would match everywhere";
    return undefined;
  } catch (err) {
    return `not a valid RE2 pattern: ${(err as Error).message}`;
  }
}

/** Strings this long are put in lower case once for all detectors' literal pre-checks. */
const LOWER_CASE_FROM = 6;

/** Scans strings with a set of detectors. */
export class Scanner {
  readonly detectors: readonly CompiledDetector[];

  constructor(detectors: readonly CompiledDetector[]) {
    this.detectors = detectors;
  }

  /** Findings of every detector in `text`, overlapping ones included, ordered by start. */
  scan(text: string): Finding[] {
    const all: Finding[] = [];
    // Made once for the literal pre-checks of every detector, and only when one needs it.
    let lower: string | undefined;
    this.detectors.forEach((detector, rank) => {
      const found = detector.find(
        text,
        lower ?? (text.length >= LOWER_CASE_FROM ? (lower = text.toLowerCase()) : undefined),
      );
      for (const f of found) all.push({ ...f, rank });
    });
    return all.length > 1 ? all.sort((a, b) => a.start - b.start || b.end - a.end) : all;
  }
}

/** A span to redact and the detector it is named after. */
export interface Redaction {
  readonly detector: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Overlapping findings merged into one redaction each, named after the detector listed first among
 * them (built-in detectors are listed specific first, high-entropy late), so a GitHub token inside a
 * longer random-looking run is still called a GitHub token.
 */
export function redactionsOf(findings: readonly Finding[]): Redaction[] {
  const out: { detector: string; start: number; end: number; rank: number }[] = [];
  for (const f of findings) {
    const last = out.at(-1);
    const rank = f.rank ?? Number.MAX_SAFE_INTEGER;
    if (last && f.start < last.end) {
      last.end = Math.max(last.end, f.end);
      if (rank < last.rank) Object.assign(last, { detector: f.detector, rank });
    } else {
      out.push({ detector: f.detector, start: f.start, end: f.end, rank });
    }
  }
  return out.map(({ detector, start, end }) => ({ detector, start, end }));
}

/** `text` with each redaction's span replaced by `[REDACTED:<detector>]`. */
export function redactText(text: string, findings: readonly Finding[]): string {
  let out = "";
  let at = 0;
  for (const r of redactionsOf(findings)) {
    out += `${text.slice(at, r.start)}[REDACTED:${r.detector}]`;
    at = r.end;
  }
  return out + text.slice(at);
}
