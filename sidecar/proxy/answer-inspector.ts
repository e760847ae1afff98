// Reads every JSON-RPC message of an upstream answer before the client sees it. An answer to a
// forwarded request gets the client's id back (the upstream only ever saw ids the sidecar minted); an
// answer with an id not minted for this stream is dropped, so nothing an upstream misroutes reaches a
// client. Every `tools` array of every result is filtered while tools are hidden, whatever request it
// claims to answer. Forwarded tool calls are completed by their answers (their outcome decides refunds
// and goes into the audit log), tool names and input schemas are learnt from tools/list answers, and a
// `notifications/tools/list_changed` makes the sidecar list the tools again.
import type { Logger } from "pino";
import type { UpstreamOutcome } from "../tool-call.ts";
import type { KnownTools } from "../enforcement/tool-names.ts";
import type { RequestId } from "../mcp/jsonrpc.ts";
import { POLICY_DENIED } from "../mcp/answers.ts";
import { readAnswerText } from "./answer-text.ts";
import type { ResultGuard } from "./result-guard.ts";
import type { TargetKind } from "../../policy/targets.ts";

export interface PendingToolCall {
  complete(outcome: UpstreamOutcome, status?: number): void;
  /** The call's result rules, when the policy has some for its tool: its answer is read in full. */
  readonly results?: ResultGuard;
}

/** A request forwarded upstream under a minted id. */
export interface ForwardedRequest {
  readonly clientId: RequestId;
  readonly method: string;
  /** For tools/call: completed by the answer. */
  readonly call?: PendingToolCall;
  /** The request carried inputResponses: its answer is never marked cacheable. */
  readonly uncacheable?: boolean;
}

/** What the fast reading relays: the text (undefined: dropped), and for an answer where its id was replaced. */
export interface FastTranslation {
  readonly text: string | undefined;
  /** The span of the upstream's id in the original text and the client's id (JSON) that replaces it. */
  readonly idSpan?: { readonly start: number; readonly end: number; readonly id: string };
}

export interface InspectorOptions {
  /** The requests forwarded on this stream, by minted id; answered ones are removed. */
  forwarded: Map<number, ForwardedRequest>;
  /** A minted id answered on a stream not tied to its request (a resumed GET stream replays answers). */
  replayed?: (minted: number) => RequestId | undefined;
  /**
   * Whether the client cancelled this forwarded request: a failure after a cancel is no sign that
   * the tool did not run, so such a call is completed as cancelled (no refund).
   */
  cancelledByClient?: (minted: number) => boolean;
  /** A forwarded request was answered. */
  answered?: (minted: number) => void;
  /** A forwarded request's answer will not come on this stream (it ended or broke off). */
  interrupted?: (minted: number) => void;
  /** Hidden-tool test while filtering is on; undefined when nothing is to be removed. */
  hidden: ((tool: string) => boolean) | undefined;
  knownTools: KnownTools;
  /** Hidden test for listed resources, resource templates and prompts; undefined when nothing is hidden. */
  hiddenTarget?: ((kind: TargetKind, target: string) => boolean) | undefined;
  /** Learns resource URIs and prompt names from list answers (metric labels). */
  knownTargets?: { learn(kind: TargetKind, names: readonly string[]): void };
  /** A task-augmented call created this task (it is bound to the caller). */
  taskCreated?: (taskId: string) => void;
  /** Whether the caller may see this task in a tasks/list answer. */
  taskVisible?: (taskId: string) => boolean;
  /** HTTP status of the upstream answer being read. */
  status: number;
  log: Logger;
  /** An answer was dropped (its id was not minted for this stream). */
  onDropped?: () => void;
  /**
   * For results that cannot be tied to a call of this stream (a resumed stream replaying answers,
   * `tasks/result` of a task-augmented call) while the policy has result rules: what the client sees.
   */
  unattributedResult?: ((result: unknown) => unknown) | undefined;
}

type Json = Record<string, unknown>;

export class AnswerInspector {
  private readonly options: InspectorOptions;
  /** UTF-8 size of the single message being translated, when known. */
  private messageBytes: number | undefined;

  constructor(options: InspectorOptions) {
    this.options = options;
  }

  /** Whether forwarded requests are still waiting for their answers. */
  get awaitingAnswers(): boolean {
    return this.options.forwarded.size > 0;
  }

  /**
   * The size bound result rules set on this answer: the largest maxBytes of the forwarded requests
   * when every one of them is a tool call with one; undefined otherwise. A larger answer need not be
   * read: each call is answered with `withholdOversized`.
   */
  resultBound(): number | undefined {
    let bound = 0;
    for (const request of this.options.forwarded.values()) {
      const limit = request.call?.results?.maxBytes;
      if (limit === undefined) return undefined;
      bound = Math.max(bound, limit);
    }
    return bound > 0 ? bound : undefined;
  }

  /** Answers every forwarded call with the result that stands for an answer over its size bound. */
  withholdOversized(): Record<string, unknown>[] {
    const answers: Record<string, unknown>[] = [];
    for (const [minted, request] of this.options.forwarded) {
      const results = request.call?.results;
      if (!results) continue;
      const result = results.oversized();
      this.options.forwarded.delete(minted);
      this.options.answered?.(minted);
      // The upstream answered; the tool ran: no refund.
      request.call?.complete("ok", this.options.status);
      answers.push({ jsonrpc: "2.0", id: request.clientId, result });
    }
    return answers;
  }

  /** Client ids of the forwarded requests not answered so far. */
  unanswered(): RequestId[] {
    return [...this.options.forwarded.values()].map((r) => r.clientId);
  }

  /**
   * One answer text (an SSE event's data) as the client is to see it: undefined when nothing of it
   * may pass, null when it is not JSON. Answers the fast reading is sure of (ADR 0118) are relayed as
   * their own text with the client's id spliced in; everything else is parsed and translated in full.
   */
  translateText(text: string): string | undefined | null {
    const fast = this.fastTranslate(text);
    return fast ? fast.text : this.translateFull(text);
  }

  /** `translateText` without the fast reading: parsed and translated in full. */
  translateFull(text: string): string | undefined | null {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      return null;
    }
    const translated = this.translateSized(value, text);
    return translated === undefined ? undefined : JSON.stringify(translated);
  }

  /** `translate`, knowing the message's text: its size is what result rules' maxBytes bound. */
  translateSized(value: unknown, text: string): unknown {
    this.messageBytes = Array.isArray(value) ? undefined : Buffer.byteLength(text);
    try {
      return this.translate(value);
    } finally {
      this.messageBytes = undefined;
    }
  }

  /**
   * The fast reading alone: the text to relay (undefined: dropped), or undefined when the text is to
   * be parsed in full. A text it gives is one JSON object without line breaks.
   */
  fastTranslate(text: string): { text: string | undefined } | undefined {
    const fast = this.fastTranslation(text);
    return fast && { text: fast.text };
  }

  /** `fastTranslate`, telling also where the id was replaced (relay.ts writes such an answer's own bytes around the new id). */
  fastTranslation(text: string): FastTranslation | undefined {
    const read = readAnswerText(text);
    if (read?.kind === "message" && this.guardsServerMessages()) return undefined;
    if (read?.kind === "message") {
      this.passing(read.method);
      return { text };
    }
    if (!read) return undefined;
    // A call with result rules needs its result read in full; so does a retry's, whose cache fields change.
    const pending = this.options.forwarded.get(read.minted);
    if (
      pending?.call?.results ||
      pending?.uncacheable === true ||
      decidedRead(pending) ||
      (this.options.unattributedResult && unattributed(pending))
    )
      return undefined;
    const clientId = this.mapBack(read.minted, () => read.outcome);
    if (clientId === undefined) return { text: undefined };
    const id = JSON.stringify(clientId);
    return {
      text: `${text.slice(0, read.idStart)}${id}${text.slice(read.idEnd)}`,
      idSpan: { start: read.idStart, end: read.idEnd, id },
    };
  }

  /** One message (or a batch) as the client is to see it; undefined when nothing of it may pass. */
  translate(value: unknown): unknown {
    if (!Array.isArray(value)) return this.translateOne(value);
    const kept = value.flatMap((m) => {
      const translated = this.translateOne(m);
      return translated === undefined ? [] : [translated];
    });
    return kept.length > 0 ? kept : undefined;
  }

  /** One message as the client is to see it, or undefined when it is dropped. */
  translateOne(message: unknown): unknown {
    if (typeof message !== "object" || message === null || Array.isArray(message))
      return this.drop("not a JSON-RPC message", message);
    const m = message as Json;
    if (typeof m.method === "string") {
      this.passing(m.method);
      return this.guardsServerMessages() ? this.guardServerMessage(m) : m;
    }
    if (!Object.hasOwn(m, "result") && !Object.hasOwn(m, "error"))
      return this.drop("neither a request nor an answer", m.id);
    if (m.id === null && !Object.hasOwn(m, "result")) return m; // an error about no request in particular
    return this.answer(m);
  }

  /** The stream or body ended: calls never answered on it are completed as such. */
  finish(outcome: UpstreamOutcome, status?: number): void {
    for (const [minted, request] of this.options.forwarded) {
      request.call?.complete(this.afterCancel(minted, outcome), status);
      this.options.interrupted?.(minted);
    }
    this.options.forwarded.clear();
  }

  /** The server's own requests and notifications pass; a changed tool list is listed again. */
  private passing(method: string): void {
    if (method === "notifications/tools/list_changed") void this.options.knownTools.toolListChanged();
  }

  /**
   * Whether a server message on this stream is scanned: a call with result rules is waiting here.
   * Requests too (sampling/createMessage, elicitation/create): what the tool read can be in their
   * params as well, and a client hands a sampling request's messages to its model.
   */
  private guardsServerMessages(): boolean {
    for (const request of this.options.forwarded.values()) if (request.call?.results) return true;
    return false;
  }

  /** A notification as the result rules of every call waiting on this stream let it pass. */
  private guardServerMessage(m: Json): Json | undefined {
    if (!Object.hasOwn(m, "params")) return m;
    let params: unknown = m.params;
    for (const request of this.options.forwarded.values()) {
      params = request.call?.results ? request.call.results.notification(params) : params;
      if (params === undefined) return this.drop("a server message the result rules withhold", m.method);
    }
    return { ...m, params };
  }

  private answer(m: Json): Json | undefined {
    const minted = m.id;
    if (typeof minted !== "number") return this.drop("an id the sidecar did not mint", minted);
    const request = this.options.forwarded.get(minted);
    const method = request?.method;
    const outcome = callOutcome(m);
    // Before the call completes, so its audit line has the verdict; the outcome stays the upstream's.
    this.applyResultRules(m, request);
    const clientId = this.mapBack(minted, () => outcome);
    if (clientId === undefined) return undefined;
    m.id = clientId;
    const filtered = this.filterTools(m.result, method === "tools/list");
    const filteredTargets = this.filterTargets(m.result, method);
    const filteredTasks = this.noteTasks(m.result, method);
    if (filtered || filteredTargets || filteredTasks || request?.uncacheable === true || decidedRead(request))
      uncacheable(m.result, request?.uncacheable === true);
    return m;
  }

  /** The call's result rules on its answer: its result, or its error (whose message and data can carry what the tool read as well). */
  private applyResultRules(m: Json, request: ForwardedRequest | undefined): void {
    const results = request?.call?.results;
    if (results && Object.hasOwn(m, "result")) m.result = results.inspect(m.result, this.messageBytes);
    else if (results && Object.hasOwn(m, "error")) m.error = results.notification(m.error) ?? withheldError(m.error);
    else if (unattributed(request) && this.options.unattributedResult && Object.hasOwn(m, "result"))
      m.result = this.options.unattributedResult(m.result);
  }

  /**
   * The client id of an answer's minted id, its request completed (a tool call completed with the
   * answer's outcome); undefined, the answer dropped, when the id was not minted for this stream.
   */
  private mapBack(minted: number, outcome: () => UpstreamOutcome): RequestId | undefined {
    const request = this.options.forwarded.get(minted);
    const clientId = request?.clientId ?? this.options.replayed?.(minted);
    if (clientId === undefined) return this.drop("an id not minted for this stream", minted);
    if (request) {
      const final = this.afterCancel(minted, outcome());
      this.options.forwarded.delete(minted);
      this.options.answered?.(minted);
      request.call?.complete(final, this.options.status);
    }
    return clientId;
  }

  /** A call the client cancelled that did not end in a result is cancelled, whatever the upstream said. */
  private afterCancel(minted: number, outcome: UpstreamOutcome): UpstreamOutcome {
    if (outcome === "ok" || outcome === "tool_error") return outcome;
    return this.options.cancelledByClient?.(minted) === true ? "cancelled" : outcome;
  }

  /** Binds a task a tools/call created to the caller; keeps only the caller's own tasks in tasks/list. True when filtered. */
  private noteTasks(result: unknown, method: string | undefined): boolean {
    if (typeof result !== "object" || result === null) return false;
    const r = result as Json;
    const created = memberOf(r.task, "taskId");
    if (method === "tools/call" && typeof created === "string") this.options.taskCreated?.(created);
    const visible = this.options.taskVisible;
    if (method === "tasks/list" && Array.isArray(r.tasks) && visible) {
      r.tasks = r.tasks.filter((t: unknown) => {
        const id = memberOf(t, "taskId");
        return typeof id === "string" && visible(id);
      });
      return true;
    }
    return false;
  }

  /**
   * Removes hidden resources, resource templates and prompts from any such array of a result; learns
   * the names of resources/list and prompts/list answers. True when the answer was filtered.
   */
  private filterTargets(result: unknown, method: string | undefined): boolean {
    if (typeof result !== "object" || result === null) return false;
    let filtered = false;
    for (const [field, kind, key, list] of TARGET_LISTS) {
      const items = (result as Json)[field];
      if (!Array.isArray(items)) continue;
      if (method === list)
        this.options.knownTargets?.learn(
          kind,
          items.flatMap((i: unknown) => (typeof memberOf(i, key) === "string" ? [memberOf(i, key) as string] : [])),
        );
      const hidden = this.options.hiddenTarget;
      if (!hidden) continue;
      // An entry without a readable name cannot be shown not to be hidden: it goes too. Order is kept.
      (result as Json)[field] = items.filter((i: unknown) => {
        const name = memberOf(i, key);
        return typeof name === "string" && !hidden(kind, name);
      });
      filtered = true;
    }
    return filtered;
  }

  /** Removes hidden tools from any `tools` array of a result; learns the tools of a tools/list answer. True when filtered. */
  private filterTools(result: unknown, learn: boolean): boolean {
    if (typeof result !== "object" || result === null) return false;
    const tools = (result as Json).tools;
    if (!Array.isArray(tools)) return false;
    if (learn) this.options.knownTools.learnTools(tools);
    const hidden = this.options.hidden;
    if (!hidden) return false;
    // A tool without a readable name cannot be shown not to be hidden: it goes too.
    (result as Json).tools = tools.filter((t: unknown) => {
      const name = toolName(t);
      return typeof name === "string" && !hidden(name);
    });
    return true;
  }

  private drop(why: string, id: unknown): undefined {
    this.options.onDropped?.();
    this.options.log.warn(
      { why, id: typeof id === "string" || typeof id === "number" ? id : typeof id },
      "upstream message dropped",
    );
    return undefined;
  }
}

/**
 * A result whose tool call is not known here: replayed on a resumed stream (no request), or the
 * deferred result of a task-augmented call (`tasks/result` names a task, not a tool).
 */
function unattributed(request: ForwardedRequest | undefined): boolean {
  return request === undefined || request.method === "tasks/result";
}

/**
 * A resources/read or prompts/get the policy decided: rules may depend on the caller (CEL over
 * `caller`, limits), so a shared cache must not hand the answer to another caller.
 */
function decidedRead(request: ForwardedRequest | undefined): boolean {
  return request?.call !== undefined && (request.method === "resources/read" || request.method === "prompts/get");
}

const TARGET_LISTS = [
  ["resources", "resource", "uri", "resources/list"],
  ["resourceTemplates", "resource", "uriTemplate", "resources/templates/list"],
  ["prompts", "prompt", "name", "prompts/list"],
] as const;

function memberOf(item: unknown, key: string): unknown {
  return typeof item === "object" && item !== null ? (item as Json)[key] : undefined;
}

/**
 * A list the sidecar filtered is the policy's view, not the server's: a shared cache must not keep it
 * (2026-07-28 cacheScope becomes private). The answer to a retry carrying inputResponses is never
 * cacheable (ttlMs 0 as well). Fields an older revision's answer does not have are not added.
 */
function uncacheable(result: unknown, retry: boolean): void {
  if (typeof result !== "object" || result === null) return;
  const r = result as Json;
  if (Object.hasOwn(r, "cacheScope")) r.cacheScope = "private";
  if (retry && Object.hasOwn(r, "ttlMs")) r.ttlMs = 0;
}

function toolName(tool: unknown): unknown {
  return typeof tool === "object" && tool !== null ? (tool as Json).name : undefined;
}

function callOutcome(message: Json): UpstreamOutcome {
  if (Object.hasOwn(message, "error")) return "rpc_error";
  const result = message.result as Json | undefined;
  if (typeof result !== "object" || result === null) return "ok";
  if (result.resultType === "input_required") return "input_required";
  return result.isError === true ? "tool_error" : "ok";
}

/** The error that stands for an upstream error the result rules withhold: its code, none of its text. */
function withheldError(error: unknown): Json {
  const code =
    typeof error === "object" && error !== null && Number.isInteger((error as Json).code)
      ? ((error as Json).code as number)
      : POLICY_DENIED;
  return {
    code,
    message:
      "The error of the MCP server behind the policy proxy was withheld by policy: it contains data the result rules do not let pass",
  };
}
