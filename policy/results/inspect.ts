// Applies a tool's result plan to one result: the size bound first (nothing is scanned that will not
// pass), then the CEL conditions, then one scan of every string of the result for all the plan's
// detectors. A match of a denyIf detector withholds the result; matches of redact detectors are
// replaced by `[REDACTED:<detector>]` in a copy (only the strings that change are new), so the result
// stays the same JSON with other strings. What cannot be completed (a condition that cannot be
// evaluated, a scan that throws) withholds: fail closed. Messages name detectors and counts, never
// the matched text.
import type { CelCaller } from "../cel/environment.ts";
import type { ResultPlan } from "./rules.ts";
import { redactionsOf, redactText, type Finding, type Scanner } from "./scanner.ts";

export type ResultAction = "passed" | "redacted" | "withheld";
/** Why a result was withheld (a metric label: bounded). */
export type WithholdReason = "detector" | "too_large" | "condition" | "evaluation_error" | "scan_failed";

export interface ResultVerdict {
  readonly action: ResultAction;
  readonly reason?: WithholdReason | undefined;
  /** The result to relay (the original when passed). */
  readonly result: unknown;
  /** Matches by detector (those that redacted or withheld). */
  readonly detectors: Readonly<Record<string, number>>;
  /** The rule that decided (JSON Pointer), when one did. */
  readonly rule?: string | undefined;
  /** What the agent is told when the result is withheld. */
  readonly message?: string | undefined;
}

export interface ResultContext {
  readonly policy: string;
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly caller: CelCaller;
  /** UTF-8 size of the answer message carrying the result, when known. */
  readonly bytes?: number | undefined;
  /** The answer was not read whole (it passed maxBytes): `bytes` is a lower bound. */
  readonly partial?: boolean | undefined;
}

/** The prefix of every withheld result's text. */
export const WITHHELD_PREFIX = "[RESULT WITHHELD]";

export function inspectResult(plan: ResultPlan, result: unknown, context: ResultContext): ResultVerdict {
  try {
    return decide(plan, result, context);
  } catch (err) {
    const why = err instanceof RangeError ? "the result is nested too deeply to scan" : "the scan failed";
    return withheld(
      plan,
      context,
      "scan_failed",
      {},
      plan.pointers[0],
      `${why}, so it cannot be shown to pass the policy`,
    );
  }
}

function decide(plan: ResultPlan, result: unknown, context: ResultContext): ResultVerdict {
  const bytes = context.bytes ?? Buffer.byteLength(JSON.stringify(result) ?? "");
  if (plan.maxBytes && bytes > plan.maxBytes.limit) {
    const size = context.partial ? "it is" : `it is ${bytes} bytes,`;
    return withheld(
      plan,
      context,
      "too_large",
      {},
      plan.maxBytes.pointer,
      `${size} more than the ${plan.maxBytes.limit} bytes the policy allows`,
    );
  }
  if (plan.withholdIf.length > 0) {
    // isError and content as MCP defines them when absent; structuredContent stays absent (has()).
    const given =
      typeof result === "object" && result !== null && !Array.isArray(result)
        ? (result as Record<string, unknown>)
        : {};
    const resultObject = {
      ...given,
      isError: given.isError === true,
      content: Array.isArray(given.content) ? given.content : [],
    };
    const activation = { args: context.args, tool: context.tool, caller: context.caller, result: resultObject };
    for (const condition of plan.withholdIf) {
      const outcome = condition.predicate(activation);
      if (outcome === true)
        return withheld(plan, context, "condition", {}, condition.pointer, `\`${condition.source}\` holds`);
      if (outcome !== false) {
        return withheld(
          plan,
          context,
          "evaluation_error",
          {},
          condition.pointer,
          `the condition \`${condition.source}\` could not be evaluated (${outcome})`,
        );
      }
    }
  }
  if (!plan.scanner) return { action: "passed", result, detectors: {} };
  const counts: Record<string, number> = {};
  const denied: Record<string, number> = {};
  const redacted = walk(
    result,
    {
      scanner: plan.scanner,
      keep(findings) {
        // Counted as redactions would be: overlapping findings are one match, named as redaction names it.
        for (const r of redactionsOf(findings.filter((f) => plan.denyIf.has(f.detector))))
          denied[r.detector] = (denied[r.detector] ?? 0) + 1;
        const kept = findings.filter((f) => plan.redact.has(f.detector));
        for (const r of redactionsOf(kept)) counts[r.detector] = (counts[r.detector] ?? 0) + 1;
        return kept;
      },
    },
    0,
    undefined,
  );
  if (Object.keys(denied).length > 0) {
    return withheld(plan, context, "detector", denied, plan.pointers[0], `it contains ${describeCounts(denied)}`);
  }
  if (redacted === result) return { action: "passed", result, detectors: {} };
  return { action: "redacted", result: redacted, detectors: counts, rule: plan.pointers[0] };
}

interface Walk {
  readonly scanner: Scanner;
  /** Records the findings of one string; returns those to redact. */
  keep(findings: Finding[]): Finding[];
}

/** How deep JSON texts inside strings are read (a text holding JSON holding JSON…). */
const MAX_JSON_TEXT_DEPTH = 3;

/**
 * A copy of `value` with every string scanned and its kept findings redacted; `value` itself when
 * nothing changed. Object keys are scanned too (a tool can return a secret as a key) and redacted in
 * place; a string member is scanned as `key=value`, so detectors that need the name (`password`,
 * `aws_secret_access_key`) see it; only the value part is redacted. A string that holds JSON
 * (FastMCP puts a tool's dict into the text content as JSON, other servers pad it with whitespace)
 * is read as JSON and, when something in it is redacted, written again as JSON: its escapes
 * (`\u0041` for `A`) never hide or split a match, and it stays valid. JSON nested in strings deeper
 * than that is read no further; when it holds escapes, which could hide a match, it withholds.
 */
function walk(value: unknown, w: Walk, jsonDepth: number, key: string | undefined): unknown {
  if (typeof value === "string") return scanString(value, w, jsonDepth, key);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = walk(item, w, jsonDepth, undefined);
      if (next !== item) (copy ??= [...(value as unknown[])])[i] = next;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [name, item] of Object.entries(value)) {
    const next = walk(item, w, jsonDepth, name);
    if (next !== item) (copy ??= { ...(value as Record<string, unknown>) })[name] = next;
  }
  return renameKeys(copy ?? value, w);
}

/** `object` with the keys that hold kept findings redacted (a copy, members in their order). */
function renameKeys(object: object, w: Walk): object {
  let renamed: [string, unknown][] | undefined;
  const entries = Object.entries(object);
  entries.forEach(([name], i) => {
    const findings = w.scanner.scan(name);
    const kept = findings.length === 0 ? findings : w.keep(findings);
    if (kept.length > 0) (renamed ??= entries.slice())[i] = [redactText(name, kept), entries[i]?.[1]];
  });
  return renamed ? Object.fromEntries(renamed) : object;
}

function scanString(text: string, w: Walk, jsonDepth: number, key: string | undefined): string {
  const deepest = jsonDepth >= MAX_JSON_TEXT_DEPTH;
  if (looksLikeJson(text) && (!deepest || text.includes("\\"))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      parsed = undefined;
    }
    if (parsed !== undefined && deepest) throw new RangeError("JSON text nested too deeply to scan");
    if (parsed !== undefined) {
      const next = walk(parsed, w, jsonDepth + 1, undefined);
      return next === parsed ? text : JSON.stringify(next);
    }
  }
  const prefix = key === undefined ? "" : `${key}=`;
  const findings = w.scanner.scan(prefix + text);
  if (findings.length === 0) return text;
  // Back to the value's offsets; what lies in the name alone is no finding.
  const shifted = findings
    .map((f) => ({ ...f, start: Math.max(0, f.start - prefix.length), end: f.end - prefix.length }))
    .filter((f) => f.end > f.start);
  const kept = w.keep(shifted);
  return kept.length === 0 ? text : redactText(text, kept);
}

/** `{…}`, `[…]` or `"…"`, with the whitespace JSON allows around it. */
function looksLikeJson(text: string): boolean {
  const trimmed = text.trim();
  const first = trimmed.charCodeAt(0);
  const last = trimmed.charCodeAt(trimmed.length - 1);
  return (
    trimmed.length > 1 &&
    ((first === 123 && last === 125) || (first === 91 && last === 93) || (first === 34 && last === 34))
  );
}

function withheld(
  plan: ResultPlan,
  context: ResultContext,
  reason: WithholdReason,
  detectors: Record<string, number>,
  rule: string | undefined,
  why: string,
): ResultVerdict {
  const message =
    `${WITHHELD_PREFIX} The result of '${context.tool}' was withheld by policy ${context.policy}: ${why}. ` +
    `The tool did run; do not call it again to read this result. ${plan.reason ?? "Ask an operator if you need it."}`;
  return { action: "withheld", reason, result: withheldResult(message), detectors, rule, message };
}

/** The isError tool result that stands in for a withheld one. */
export function withheldResult(message: string): Record<string, unknown> {
  return { content: [{ type: "text", text: message }], isError: true };
}

/** "private-key (1 match), email (3 matches)" */
export function describeCounts(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .map(([name, n]) => `${name} (${n} match${n === 1 ? "" : "es"})`)
    .join(", ");
}
