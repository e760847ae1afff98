// A bounded unified diff of two tool definitions, field by field over the digested fields, for the
// drift audit line, the Event and `kubectl mcp-warden pins diff`. Each field is pretty-printed JSON
// (keys sorted, so reordering shows no change); fields that did not change are left out.
import { canonicalJson } from "../approval/canonical-json.ts";
import { DIGESTED_FIELDS } from "./definition-digest.ts";

/** A diff longer than this is cut, with a line saying how much was left out. */
export const MAX_DIFF_CHARS = 4096;
const CONTEXT = 2;

/** The unified diff of the changed digested fields; `before` undefined: the earlier definition is unknown. */
export function definitionDiff(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
  maxChars = MAX_DIFF_CHARS,
): string {
  const parts: string[] = [];
  for (const field of DIGESTED_FIELDS) {
    const a = before === undefined ? undefined : render(before[field]);
    const b = render(after[field]);
    if (before !== undefined && a === b) continue;
    if (before === undefined && b === undefined) continue;
    parts.push(fieldDiff(field, a, b));
  }
  return cut(parts.join("\n"), maxChars);
}

/** The names of the digested fields that differ. */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  return DIGESTED_FIELDS.filter((f) => render(before[f]) !== render(after[f]));
}

function render(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return JSON.stringify(JSON.parse(canonicalJson(value)), null, 2);
}

function fieldDiff(field: string, before: string | undefined, after: string | undefined): string {
  const a = before === undefined ? [] : before.split("\n");
  const b = after === undefined ? [] : after.split("\n");
  const header = `--- ${before === undefined ? "/dev/null" : `pinned/${field}`}\n+++ ${after === undefined ? "/dev/null" : `live/${field}`}`;
  return `${header}\n${hunks(a, b).join("\n")}`;
}

/** Line diff (longest common subsequence) as unified hunks with CONTEXT lines around changes. */
function hunks(a: string[], b: string[]): string[] {
  const ops = lineOps(a, b);
  const shown = ops.map(() => false);
  ops.forEach(([op], i) => {
    if (op === " ") return;
    for (let k = Math.max(0, i - CONTEXT); k <= Math.min(ops.length - 1, i + CONTEXT); k++) shown[k] = true;
  });
  const out: string[] = [];
  let aLine = 1;
  let bLine = 1;
  for (let i = 0; i < ops.length;) {
    if (!shown[i]) {
      aLine++;
      bLine++;
      i++;
      continue;
    }
    let end = i;
    while (end < ops.length && shown[end]) end++;
    const slice = ops.slice(i, end);
    const aCount = slice.filter((o) => o[0] !== "+").length;
    const bCount = slice.filter((o) => o[0] !== "-").length;
    out.push(`@@ -${aLine},${aCount} +${bLine},${bCount} @@`, ...slice.map(([op, line]) => `${op}${line}`));
    aLine += aCount;
    bLine += bCount;
    i = end;
  }
  return out;
}

type Op = [" " | "-" | "+", string];

function lineOps(a: string[], b: string[]): Op[] {
  // Definitions are small; a bounded quadratic table. Past the bound, everything is replaced.
  if (a.length * b.length > 250_000) return [...a.map((l): Op => ["-", l]), ...b.map((l): Op => ["+", l])];
  const lcs = commonSuffixLengths(a, b);
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      ops.push([" ", a[i] as string]);
      i++;
      j++;
    } else if ((lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0)) ops.push(["-", a[i++] as string]);
    else ops.push(["+", b[j++] as string]);
  }
  while (i < a.length) ops.push(["-", a[i++] as string]);
  while (j < b.length) ops.push(["+", b[j++] as string]);
  return ops;
}

/** `lcs[i][j]`: the length of the longest common subsequence of `a` from i and `b` from j. */
function commonSuffixLengths(a: string[], b: string[]): number[][] {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      (lcs[i] as number[])[j] =
        a[i] === b[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, lcs[i]?.[j + 1] ?? 0);
    }
  }
  return lcs;
}

function cut(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const kept = text.slice(0, maxChars);
  const cutAt = kept.lastIndexOf("\n");
  const shown = cutAt > 0 ? kept.slice(0, cutAt) : kept;
  return `${shown}\n… diff cut: ${text.length - shown.length} more characters`;
}
