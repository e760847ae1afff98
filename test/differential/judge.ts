// The judge: what the upstream executed, set against what the sidecar decided and what the client got.
//   1. Every execution in the upstream's record is matched, one to one, with an audit line that
//      allowed and forwarded a call of the same tool, for an authenticated caller, whose argument keys
//      include every key the upstream read.
//   2. The policy, given the arguments exactly as the upstream read them (integers exact), allows the
//      call: the values the sidecar decided on are the values that ran.
//   3. No limit admitted more than its max (counted on the record, per caller budget).
//   4. No answer the client got lists a hidden tool, and nothing the client got that could not be
//      parsed mentions one.
import { evaluateToolCall } from "../../policy/decide.ts";
import type { LogLine } from "../support/sidecar-harness.ts";
import { POLICY } from "./policy.ts";
import { messagesIn, type RawResponse } from "./raw-http.ts";
import { LIMIT_MAX, TOOLS } from "./stacks/catalogue.ts";

export interface Execution {
  tool: string;
  arguments: Record<string, unknown>;
}

export interface Evidence {
  executions: readonly Execution[];
  audits: readonly LogLine[];
  answers: readonly RawResponse[];
  /** How many callers' budgets the case's calls of the limited tool drew on. */
  limitedCallers: number;
}

/** One record line, with integers a double cannot hold kept exact (as bigint). */
export function parseRecordLine(line: string): Execution {
  return JSON.parse(line, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === "number" &&
    !Number.isSafeInteger(value) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value,
  ) as Execution;
}

function show(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
}

interface AuditView {
  tool: string;
  decision: string;
  forwarded: boolean;
  grant: string;
  method: string;
  keys: string[];
}

function view(line: LogLine): AuditView {
  const caller = (line.caller ?? {}) as Record<string, unknown>;
  return {
    tool: String(line.tool),
    decision: String(line.decision),
    forwarded: line.forwarded === true,
    grant: typeof caller.grant === "string" ? caller.grant : "",
    method: typeof caller.method === "string" ? caller.method : "",
    keys: Array.isArray(line.argumentKeys) ? line.argumentKeys.map(String) : [],
  };
}

/** A violation, with the execution (index in the record slice) or answer (index) it concerns. */
export interface Finding {
  text: string;
  execution?: number;
  answer?: number;
}

export function violations(evidence: Evidence): string[] {
  return findingsOf(evidence).map((f) => f.text);
}

export function findingsOf(evidence: Evidence): Finding[] {
  const found: Finding[] = [];
  const audits = evidence.audits.filter((l) => l.msg === "tool call").map(view);
  const used = new Set<number>();
  for (const [execution, run] of evidence.executions.entries()) {
    const keys = Object.keys(run.arguments);
    const match = audits.findIndex(
      (a, i) =>
        !used.has(i) &&
        a.tool === run.tool &&
        a.decision === "allowed" &&
        a.forwarded &&
        keys.every((k) => a.keys.includes(k)),
    );
    if (match === -1) {
      found.push({
        execution,
        text: `the upstream ran ${run.tool} ${show(run.arguments)} with no audit line that allowed and forwarded it`,
      });
      continue;
    }
    used.add(match);
    const audit = audits[match] as AuditView;
    if (audit.grant === "" || audit.method === "none")
      found.push({
        execution,
        text: `the upstream ran ${run.tool} for an unauthenticated caller (grant "${audit.grant}", method ${audit.method})`,
      });
    const decided = evaluateToolCall(POLICY, {
      tool: run.tool,
      args: run.arguments,
      caller: { grant: audit.grant, sub: audit.grant, groups: [], claims: {} },
    });
    if (decided.decision !== "allowed")
      found.push({
        execution,
        text: `the upstream ran ${run.tool} ${show(run.arguments)}, which the policy decides ${decided.decision} (${decided.reason}) as the upstream read it`,
      });
  }
  const limited = evidence.executions.filter((r) => r.tool === TOOLS.limited).length;
  const budget = LIMIT_MAX * Math.max(1, evidence.limitedCallers);
  if (limited > budget)
    found.push({
      text: `the upstream ran ${TOOLS.limited} ${limited} times against a budget of ${budget} (max ${LIMIT_MAX} per minute per caller)`,
    });
  for (const [answer, res] of evidence.answers.entries())
    found.push(...hiddenIn(res).map((text) => ({ answer, text })));
  return found;
}

function hiddenIn(answer: RawResponse): string[] {
  const messages = messagesIn(answer);
  if (messages.length === 0)
    return answer.text.includes(TOOLS.hidden)
      ? [`an unparseable answer (${answer.status}) mentions ${TOOLS.hidden}: ${answer.text.slice(0, 300)}`]
      : [];
  const listed: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== "object" || node === null) return;
    const tools = (node as Record<string, unknown>).tools;
    if (
      Array.isArray(tools) &&
      tools.some((t) => typeof t === "object" && t !== null && (t as Record<string, unknown>).name === TOOLS.hidden)
    )
      listed.push(`an answer (${answer.status}) lists the hidden tool ${TOOLS.hidden}`);
    Object.values(node).forEach(walk);
  };
  walk(messages);
  return listed;
}
