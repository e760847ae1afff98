// One audit line per tool-call decision. Records who called what and what the sidecar and the
// upstream did about it, never argument values (they may hold secrets): only their keys.
import { pino, type Logger } from "pino";
import { sessionFingerprint } from "../sessions.ts";
import type { ApprovalRecord, UpstreamOutcome, Verdict } from "../tool-call.ts";
import type { ResultVerdict } from "../../policy/results/inspect.ts";

export interface AuditRecord {
  /** What was decided: a tool call (the default), a resource read or a prompt. */
  kind?: "tool" | "resource" | "prompt";
  policy: string | undefined;
  policyVersion: string | undefined;
  mode: "Enforce" | "Audit" | undefined;
  grant: string;
  sub: string;
  authMethod: string;
  session: string | undefined;
  requestId: string | number;
  tool: string;
  verdict: Verdict;
  /** Whether the call went to the upstream (in Audit mode also calls the policy would not allow). */
  forwarded: boolean;
  arguments: unknown;
  upstreamStatus: number | undefined;
  upstreamOutcome: UpstreamOutcome;
  refunded: boolean;
  durationSeconds: number;
  /** For calls an approve rule held: the approval they ended with. */
  approval?: ApprovalRecord | undefined;
  /** What the result rules did to the result: detectors and match counts, never matched text. */
  results?: ResultVerdict | undefined;
  /** The exported trace the call belongs to, when tracing sampled it: from an audit line to its trace. */
  traceId?: string | undefined;
}

const MAX_KEYS = 64;
const MAX_KEY_LENGTH = 128;
/** Caller-chosen strings (tool names, request ids) are cut: a line must stay a line. */
const MAX_FIELD_LENGTH = 256;

function cut(s: string): string {
  return s.length > MAX_FIELD_LENGTH ? `${s.slice(0, MAX_FIELD_LENGTH)}…` : s;
}

export function argumentKeys(args: unknown): string[] {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return [];
  const keys = Object.keys(args).sort();
  const shown = keys.slice(0, MAX_KEYS).map((k) => (k.length > MAX_KEY_LENGTH ? `${k.slice(0, MAX_KEY_LENGTH)}…` : k));
  if (keys.length > MAX_KEYS) shown.push(`… ${keys.length - MAX_KEYS} more`);
  return shown;
}

const MESSAGES = { tool: "tool call", resource: "resource read", prompt: "prompt get" } as const;
/** The key of what was decided, by kind: resources are named by their URI, prompts by their name. */
const TARGET_KEYS = { tool: ',"tool":', resource: ',"uri":', prompt: ',"prompt":' } as const;

/** Whether JSON writes `s` as it is between quotes: no control character, quote, backslash or surrogate (left to JSON.stringify, which escapes lone ones). */
function plain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** A JSON string; the common case (nothing to escape) without a call into the JSON serializer. */
function str(s: string | undefined | null): string {
  if (s === undefined || s === null) return "null";
  return plain(s) ? `"${s}"` : JSON.stringify(s);
}

/** A JSON number (non-finite numbers as null, as JSON.stringify writes them). */
const num = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? "null" : `${n}`);

const strings = (xs: readonly string[]): string => `[${xs.map(str).join(",")}]`;

/**
 * The fields of an audit line as JSON text, in a fixed order, each with a leading comma (pino's
 * own layout for the fields after its level, time and bindings). Absent optional fields are left
 * out, absent values of fixed fields are null, as the object logged through pino had them.
 */
export function auditFields(r: AuditRecord): string {
  const kind = r.kind ?? "tool";
  const v = r.verdict;
  let line =
    `,"policy":${str(r.policy)},"policyVersion":${str(r.policyVersion)},"mode":${str(r.mode)}` +
    `,"caller":{"grant":${str(r.grant)},"sub":${str(r.sub)},"method":${str(r.authMethod)}}` +
    `,"session":${str(sessionFingerprint(r.session))}` +
    `,"requestId":${typeof r.requestId === "string" ? str(cut(r.requestId)) : num(r.requestId)}` +
    `,"kind":"${kind}"${TARGET_KEYS[kind]}${str(cut(r.tool))}` +
    `,"decision":${str(v.decision)},"reason":${str(v.reason)},"rule":${str(v.rule)}`;
  if (v.retryAfterSeconds !== undefined) line += `,"retryAfterSeconds":${num(v.retryAfterSeconds)}`;
  line +=
    `,"forwarded":${r.forwarded},"argumentKeys":${strings(argumentKeys(r.arguments))}` +
    `,"upstreamStatus":${num(r.upstreamStatus)},"upstreamOutcome":${str(r.upstreamOutcome)}` +
    // Only a complete result is a success: an input_required answer asks for a retry, nothing ran to the end.
    `,"succeeded":${r.forwarded && r.upstreamOutcome === "ok"},"refunded":${r.refunded}` +
    `,"durationMs":${num(Math.round(r.durationSeconds * 1e6) / 1e3)}`;
  if (r.results) line += `,"results":${JSON.stringify(resultRecord(r.results))}`;
  if (r.traceId !== undefined) line += `,"traceId":${str(r.traceId)}`;
  if (r.approval)
    line += `,"approval":{"name":${str(r.approval.name)},"via":${str(r.approval.via)},"decidedBy":${str(r.approval.decidedBy ? cut(r.approval.decidedBy) : undefined)}}`;
  return line;
}

/**
 * One audit line. The fields are serialized here in a fixed shape (a few string concatenations)
 * instead of handing pino an object to walk: through pino a line cost about four times as much
 * CPU (bench/hotpath/audit.ts). The line keeps pino's layout exactly: the logger's own level, time
 * and bindings (`"audit":true`), these fields, then the message. A logger that transforms lines
 * (mixins, hooks, serializers, redaction, multistream) gets the same fields through pino instead.
 */
export function writeAudit(audit: Logger, r: AuditRecord): void {
  const message = MESSAGES[r.kind ?? "tool"];
  if (!audit.isLevelEnabled("info")) return;
  const direct = directWriter(audit);
  if (direct === undefined) audit.info(JSON.parse(`{${auditFields(r).slice(1)}}`) as object, message);
  else direct(auditFields(r), message);
}

type DirectWriter = (fields: string, message: string) => void;
interface PinoInternals {
  [key: symbol]: unknown;
}
type PinoSymbol =
  | "formattersSym"
  | "hooksSym"
  | "streamSym"
  | "lsCacheSym"
  | "timeSym"
  | "mixinSym"
  | "msgPrefixSym"
  | "nestedKeySym"
  | "serializersSym"
  | "stringifiersSym"
  | "needsMetadataGsym"
  | "chindingsSym"
  | "messageKeySym"
  | "endSym";
const INFO = 30;
const writers = new WeakMap<Logger, DirectWriter | undefined>();

/** How to write a line straight to this logger's stream; undefined when pino must write it. */
function directWriter(audit: Logger): DirectWriter | undefined {
  if (writers.has(audit)) return writers.get(audit);
  const writer = plainWriter(audit);
  writers.set(audit, writer);
  return writer;
}

function plainWriter(audit: Logger): DirectWriter | undefined {
  const p = audit as unknown as PinoInternals;
  // msgPrefixSym is missing from pino's type declarations; indexing with a symbol pino lacks finds nothing.
  const s = pino.symbols as unknown as Record<PinoSymbol, symbol>;
  const formatters = p[s.formattersSym] as { log?: unknown } | undefined;
  const hooks = p[s.hooksSym] as { streamWrite?: unknown } | undefined;
  const stream = p[s.streamSym] as { write(line: string): unknown; [key: symbol]: unknown } | undefined;
  const levelPrefix = (p[s.lsCacheSym] as Record<number, string> | undefined)?.[INFO];
  const time = p[s.timeSym] as ((this: Logger) => string) | undefined;
  const transforms =
    formatters?.log !== undefined ||
    hooks?.streamWrite !== undefined ||
    p[s.mixinSym] != null ||
    p[s.msgPrefixSym] != null ||
    p[s.nestedKeySym] != null ||
    // pino's default serializer of `err` never applies: an audit line has no such field.
    Object.keys((p[s.serializersSym] as object | undefined) ?? {}).some((key) => key !== "err") ||
    Object.getOwnPropertySymbols((p[s.stringifiersSym] as object | undefined) ?? {}).length > 0 ||
    Object.keys((p[s.stringifiersSym] as object | undefined) ?? {}).length > 0;
  if (
    transforms ||
    !stream ||
    stream[s.needsMetadataGsym] === true ||
    typeof levelPrefix !== "string" ||
    typeof time !== "function"
  )
    return undefined;
  const bindings = p[s.chindingsSym] as string;
  const messageKey = JSON.stringify(p[s.messageKeySym]);
  const end = p[s.endSym] as string;
  return (fields, message) =>
    stream.write(`${levelPrefix}${time.call(audit)}${bindings}${fields},${messageKey}:${str(message)}${end}`);
}

/** The audit view of a result verdict: what was done, why, and how many matches of each detector. */
function resultRecord(v: ResultVerdict): Record<string, unknown> {
  return {
    action: v.action,
    ...(v.reason ? { reason: v.reason } : {}),
    detectors: v.detectors,
    ...(v.rule ? { rule: v.rule } : {}),
  };
}
