// The fast reading of one answer text (ADR 0118). Most upstream messages are an answer to a forwarded
// request whose only part the sidecar changes is its id, or a server message it passes unchanged; for
// those, the positions of a few members are enough: the answer is relayed as its own text with the
// client's id spliced in, without building and serialising it. Everything this reading is not sure
// of is left to the full parse (`AnswerInspector.translate`), which stays the reference.
import type { UpstreamOutcome } from "../tool-call.ts";
import { topLevelMembers, type Member } from "../json/top-level-members.ts";

export type TextAnswer =
  /** A server request or notification: relayed unchanged. */
  | { readonly kind: "message"; readonly method: string }
  /** An answer under a numeric id: the id's span is replaced by the client's. */
  | {
      readonly kind: "answer";
      readonly minted: number;
      readonly idStart: number;
      readonly idEnd: number;
      readonly outcome: UpstreamOutcome;
    };

const TOP_KEYS = ["id", "result", "error", "method", "jsonrpc"];
const RESULT_KEYS = ["tools", "isError", "resultType"];
/** Lists the full path filters or learns from: an answer holding one is never read fast. */
const LIST_KEYS = ["tools", "resources", "resourceTemplates", "prompts", "task", "tasks"];

/**
 * What an answer text says, when the fast reading is sure of it; undefined sends the text to the full
 * parse: not one object (batches included), not valid JSON as this scanner reads it, a member that
 * decides anything given twice, an id that is not a number, an answer with neither result nor error,
 * or a result with a `tools` member (filtered or learnt only by the full path).
 */
export function readAnswerText(text: string): TextAnswer | undefined {
  const members = topLevelMembers(text, "result", LIST_KEYS);
  const top = members && byName(members, TOP_KEYS);
  if (!top) return undefined;
  if (top.method) {
    const method = valueOf(text, top.method);
    return typeof method === "string" ? { kind: "message", method } : undefined;
  }
  const { id, result, error } = top;
  if (!id || (!result && !error) || !isNumber(text, id)) return undefined;
  const inResult = result?.members ? byName(result.members, RESULT_KEYS) : {};
  if (!inResult || inResult.tools || result?.members?.some((m) => LIST_KEYS.includes(m.key))) return undefined;
  const outcome = error ? "rpc_error" : resultOutcome(text, inResult);
  return { kind: "answer", minted: Number(text.slice(id.start, id.end)), idStart: id.start, idEnd: id.end, outcome };
}

/** As the full path decides a call's outcome from its result: `resultType` first, then `isError`. */
function resultOutcome(text: string, result: Partial<Record<string, Member>>): UpstreamOutcome {
  if (result.resultType && valueOf(text, result.resultType) === "input_required") return "input_required";
  return result.isError && text.slice(result.isError.start, result.isError.end) === "true" ? "tool_error" : "ok";
}

/** The members named in `names`, by name; undefined when one of them is given twice. */
function byName(members: readonly Member[], names: readonly string[]): Partial<Record<string, Member>> | undefined {
  const found: Partial<Record<string, Member>> = {};
  for (const m of members) {
    if (!names.includes(m.key)) continue;
    if (found[m.key]) return undefined;
    found[m.key] = m;
  }
  return found;
}

/** A small value's parsed form (only strings are parsed; their span is validated JSON). */
function valueOf(text: string, m: Member): unknown {
  return text.charCodeAt(m.start) === 0x22 ? (JSON.parse(text.slice(m.start, m.end)) as unknown) : undefined;
}

function isNumber(text: string, m: Member): boolean {
  const c = text.charCodeAt(m.start);
  return c === 0x2d || (c >= 0x30 && c <= 0x39);
}
