// Reads the upstream's JSON-RPC answers as they pass: completes forwarded tool calls (their outcome
// decides refunds and goes into the audit log), learns tool names from tools/list answers, removes
// hidden tools from them, and keeps track of which forwarded requests are still unanswered (if the
// upstream breaks off a stream, the sidecar answers those itself). Only a tools/list answer that loses
// a tool is rewritten; every other message keeps its bytes.
import type { UpstreamOutcome } from "../enforcement/outcome.ts";
import type { KnownTools } from "../enforcement/tool-names.ts";
import { idKey, type RequestId } from "../mcp/jsonrpc.ts";

export interface PendingToolCall {
  complete(outcome: UpstreamOutcome, status?: number): void;
}

export interface InspectorOptions {
  /** Forwarded tools/call requests by idKey. */
  toolCalls: Map<string, PendingToolCall>;
  /** Forwarded tools/list requests by idKey, or "any" to treat every tools-shaped result as one (GET streams). */
  toolLists: Set<string> | "any";
  /** Every forwarded request (any method) by idKey; answered ones are removed. */
  requests?: Map<string, RequestId>;
  /** Hidden-tool test while filtering is on; undefined when nothing is to be removed. */
  hidden: ((tool: string) => boolean) | undefined;
  knownTools: KnownTools;
  /** HTTP status of the upstream answer being read. */
  status: number;
  /**
   * The idKey of the only request of its POST: any response on that answer is then its answer, and
   * one that names none of the fields deciding an outcome is a plain success, found without parsing
   * (a Kestra answer is tens of kilobytes). Not used for a tools/list request, whose answer is read.
   */
  soleRequest?: string | undefined;
}

/** Fields whose presence means a message needs a full parse to be judged (quotes inside JSON strings are escaped, so these cannot match string content). */
const MAY_MATTER = /"(?:method|error|isError|resultType)"/;
const OPEN_BRACE = 0x7b;

type Json = Record<string, unknown>;

export class AnswerInspector {
  private readonly options: InspectorOptions;

  constructor(options: InspectorOptions) {
    this.options = options;
  }

  /** Whether an answer still has to be read (a tool call to complete, a list to learn or filter). */
  get interested(): boolean {
    return this.options.toolCalls.size > 0 || this.options.toolLists === "any" || this.options.toolLists.size > 0;
  }

  /** Whether forwarded requests are still waiting for their answers. */
  get awaitingAnswers(): boolean {
    return (this.options.requests?.size ?? 0) > 0;
  }

  /** Ids of the forwarded requests not answered so far. */
  unanswered(): RequestId[] {
    return [...(this.options.requests?.values() ?? [])];
  }

  /** Inspects a JSON text holding one message or a batch; returns replacement text if it had to change. */
  inspectText(text: string): string | undefined {
    const sole = this.options.soleRequest;
    const lists = this.options.toolLists;
    if (sole !== undefined && text.charCodeAt(0) === OPEN_BRACE && !MAY_MATTER.test(text) && lists !== "any" && !lists.has(sole)) {
      this.options.requests?.delete(sole);
      const call = this.options.toolCalls.get(sole);
      this.options.toolCalls.delete(sole);
      call?.complete("ok", this.options.status);
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (Array.isArray(parsed)) {
      let changed = false;
      for (const m of parsed) if (this.inspectMessage(m)) changed = true;
      return changed ? JSON.stringify(parsed) : undefined;
    }
    return this.inspectMessage(parsed) ? JSON.stringify(parsed) : undefined;
  }

  /** Inspects one parsed message, mutating a tools/list result in place; true when it changed. */
  inspectMessage(message: unknown): boolean {
    if (typeof message !== "object" || message === null) return false;
    const m = message as Json;
    const id = m.id;
    if (typeof id !== "string" && typeof id !== "number") return false;
    if (!Object.hasOwn(m, "result") && !Object.hasOwn(m, "error")) return false;
    const key = idKey(id);
    this.options.requests?.delete(key);
    const call = this.options.toolCalls.get(key);
    if (call) {
      this.options.toolCalls.delete(key);
      call.complete(callOutcome(m), this.options.status);
      return false;
    }
    const lists = this.options.toolLists;
    if (lists === "any" || lists.has(key)) {
      if (lists !== "any") lists.delete(key);
      return this.filterToolList(m.result);
    }
    return false;
  }

  /** The stream or body ended: calls never answered on it are completed as such. */
  finish(outcome: UpstreamOutcome, status?: number): void {
    for (const call of this.options.toolCalls.values()) call.complete(outcome, status);
    this.options.toolCalls.clear();
  }

  private filterToolList(result: unknown): boolean {
    if (typeof result !== "object" || result === null) return false;
    const tools = (result as Json).tools;
    if (!Array.isArray(tools)) return false;
    const names = tools.flatMap((t: unknown) => (typeof t === "object" && t !== null && typeof (t as Json).name === "string" ? [(t as Json).name as string] : []));
    this.options.knownTools.learnTools(tools);
    const hidden = this.options.hidden;
    if (!hidden || !names.some(hidden)) return false;
    (result as Json).tools = tools.filter((t: unknown) => !(typeof t === "object" && t !== null && typeof (t as Json).name === "string" && hidden((t as Json).name as string)));
    return true;
  }
}

function callOutcome(message: Json): UpstreamOutcome {
  if (Object.hasOwn(message, "error")) return "rpc_error";
  const result = message.result as Json | undefined;
  if (typeof result !== "object" || result === null) return "ok";
  if (result.resultType === "input_required") return "input_required";
  return result.isError === true ? "tool_error" : "ok";
}
