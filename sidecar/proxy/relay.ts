// Relays an upstream answer to the client. Bytes pass through as they arrive; an inspector reads
// alongside (tool-call outcomes, tool names). Only when something must change (hidden tools removed
// from a tools/list answer, or the sidecar's own answers merged into a batch answer) is a JSON body
// held until complete, or an SSE stream relayed event by event with just that event rewritten.
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import { downstreamResponseHeaders, mediaType } from "../mcp/http-headers.ts";
import { CONNECTION_CLOSED, INVALID_REQUEST, rpcError } from "../mcp/answers.ts";
import type { RequestId } from "../mcp/jsonrpc.ts";
import { eventData, messageEvent, replaceEventData, SseSplitter, type SseEvent } from "../mcp/sse.ts";
import { TurnWriter } from "./turn-writer.ts";
import type { AnswerInspector } from "./answer-inspector.ts";

export interface RelayPlan {
  inspector: AnswerInspector | undefined;
  /** The answer may have to be rewritten (tools/list filtering is on for a forwarded tools/list). */
  rewrite: boolean;
  /** The sidecar's answers to the batch elements it did not forward. */
  synthesized: readonly unknown[];
  maxInspectBytes: number;
  log: Logger;
}

export async function relayAnswer(upstream: Dispatcher.ResponseData, res: ServerResponse, plan: RelayPlan): Promise<void> {
  const type = mediaType(headerString(upstream.headers["content-type"]));
  const status = upstream.statusCode;
  const encoded = headerString(upstream.headers["content-encoding"]);
  const readable = status >= 200 && status < 300 && (encoded === undefined || encoded === "identity");
  if (readable && type === "text/event-stream") return relaySse(upstream, res, plan);
  if (readable && type === "application/json") return relayJson(upstream, res, plan);

  if (plan.synthesized.length > 0 && status === 202) {
    // Only notifications or responses were forwarded; the batch's answers are the sidecar's.
    await upstream.body.dump();
    sendJson(res, 200, plan.synthesized);
    plan.inspector?.finish("unknown", status);
    return;
  }
  if (plan.rewrite && readable && status !== 202) {
    // A tools/list answer the sidecar cannot read (unknown type or encoding) would leak hidden tools.
    await upstream.body.dump();
    plan.log.error({ status, contentType: type, contentEncoding: encoded }, "upstream tools/list answer cannot be filtered; refusing it");
    sendJson(res, 502, rpcError(null, INVALID_REQUEST, "The upstream answered in a form the policy proxy cannot filter"));
    plan.inspector?.finish("unknown", status);
    return;
  }
  res.writeHead(status, downstreamResponseHeaders(upstream.headers, { keepLength: true }));
  await pipeBody(upstream, res);
  plan.inspector?.finish(status >= 400 ? "http_error" : "unknown", status);
}

async function relayJson(upstream: Dispatcher.ResponseData, res: ServerResponse, plan: RelayPlan): Promise<void> {
  const { inspector } = plan;
  const mustHold = plan.rewrite || plan.synthesized.length > 0;
  if (!mustHold) {
    res.writeHead(upstream.statusCode, downstreamResponseHeaders(upstream.headers, { keepLength: true }));
    const kept = inspector?.interested ? await pipeBody(upstream, res, plan.maxInspectBytes) : await pipeBody(upstream, res);
    if (kept) inspector?.inspectText(kept.toString("utf8"));
    inspector?.finish("unknown", upstream.statusCode);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of upstream.body) {
    size += (chunk as Buffer).length;
    if (size > plan.maxInspectBytes) {
      upstream.body.destroy();
      plan.log.error({ limit: plan.maxInspectBytes }, "upstream answer too large to filter; refusing it");
      sendJson(res, 502, rpcError(null, INVALID_REQUEST, "The upstream answer is too large for the policy proxy to filter"));
      inspector?.finish("unknown", upstream.statusCode);
      return;
    }
    chunks.push(chunk as Buffer);
  }
  let text = Buffer.concat(chunks).toString("utf8");
  text = inspector?.inspectText(text) ?? text;
  if (plan.synthesized.length > 0) text = mergeIntoBatch(text, plan.synthesized);
  inspector?.finish("unknown", upstream.statusCode);
  const headers = downstreamResponseHeaders(upstream.headers, { keepLength: false });
  res.writeHead(upstream.statusCode, { ...headers, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function relaySse(upstream: Dispatcher.ResponseData, res: ServerResponse, plan: RelayPlan): Promise<void> {
  const { inspector } = plan;
  res.writeHead(upstream.statusCode, downstreamResponseHeaders(upstream.headers, { keepLength: false }));
  const out = new TurnWriter(res);
  for (const answer of plan.synthesized) await out.write(messageEvent(answer));
  const splitter = new SseSplitter(plan.maxInspectBytes);
  // Rewriting: each event is written once complete, rewritten if it is a filtered tools/list answer.
  // Otherwise bytes go out as they arrive and the events are only read alongside.
  const rewriteEvents = async (events: readonly SseEvent[]) => {
    for (const event of events) {
      const data = eventData(event.raw);
      const rewritten = data === undefined ? undefined : inspector?.inspectText(data);
      await out.write(rewritten === undefined ? event.raw : replaceEventData(event.raw, rewritten));
    }
  };
  const readEvents = (events: readonly SseEvent[]) => {
    for (const event of events) {
      const data = eventData(event.raw);
      if (data !== undefined) inspector?.inspectText(data);
    }
  };
  // Reading alongside: to complete tool calls and learn lists, and to know which requests are still
  // open should the upstream break off (the bytes themselves pass unchanged).
  const reading = () => (inspector?.interested === true || inspector?.awaitingAnswers === true) && !splitter.overflowed;
  try {
    for await (const chunk of upstream.body) {
      const bytes = chunk as Buffer;
      if (!plan.rewrite) {
        await out.write(bytes);
        if (reading()) readEvents(splitter.push(bytes));
        continue;
      }
      const events = splitter.push(bytes);
      if (splitter.overflowed) {
        plan.log.error({ limit: plan.maxInspectBytes }, "SSE event too large to filter; closing the stream");
        throw new Error("SSE event too large to filter");
      }
      await rewriteEvents(events);
    }
    if (plan.rewrite) {
      await rewriteEvents(splitter.end());
      if (splitter.rest().length > 0) await out.write(splitter.rest());
    } else if (reading()) {
      readEvents(splitter.end());
    }
    out.end();
    inspector?.finish("unknown", upstream.statusCode);
  } catch (err) {
    upstream.body.destroy();
    const open = inspector?.unanswered() ?? [];
    inspector?.finish(res.destroyed ? "cancelled" : "connection_error", upstream.statusCode);
    if (res.destroyed) return;
    plan.log.warn({ err: (err as Error).message, unanswered: open.length }, "upstream SSE stream broke off");
    await closeBrokenStream(res, out, open, plan.rewrite ? Buffer.alloc(0) : splitter.overflowed ? undefined : splitter.rest());
  }
}

/**
 * Ends a client's SSE answer whose upstream stream broke off: every request of the POST not answered
 * yet gets a JSON-RPC error (clients reject the call at once instead of waiting out their timeout),
 * then the stream ends cleanly. `cut` is what was already relayed of an unfinished event (undefined
 * when unknown): that event is closed with a type clients ignore, so no truncated message is read.
 * A stream with nothing left to answer (a GET stream) is cut off, as the upstream's was.
 */
async function closeBrokenStream(res: ServerResponse, out: TurnWriter, open: readonly RequestId[], cut: Buffer | undefined): Promise<void> {
  if (open.length === 0) {
    res.destroy();
    return;
  }
  try {
    if (cut === undefined || cut.length > 0) {
      const last = cut?.at(-1);
      const lineEnded = last === 0x0a || last === 0x0d;
      await out.write(Buffer.from(`${lineEnded ? "" : "\n"}event: ${DISCARDED_EVENT}\n\n`));
    }
    for (const id of open) {
      await out.write(messageEvent(rpcError(id, CONNECTION_CLOSED, "The MCP server behind the policy proxy broke off its answer before answering this request")));
    }
    out.end();
  } catch {
    res.destroy();
  }
}

/** Type given to an event the upstream left unfinished: clients dispatch only `message` events. */
export const DISCARDED_EVENT = "mcp-warden-discarded";

/**
 * Streams a (non-SSE) upstream body to the client; when `keep` is given, also returns up to that many
 * bytes of it. Each chunk is written when the next one arrives and the last one with the end of the
 * answer, which saves a write per answer; nothing can read a JSON body before it is complete anyway.
 */
async function pipeBody(upstream: Dispatcher.ResponseData, res: ServerResponse, keep?: number): Promise<Buffer | undefined> {
  const kept: Buffer[] = [];
  let size = 0;
  let held: Buffer | undefined;
  try {
    for await (const chunk of upstream.body) {
      const bytes = chunk as Buffer;
      if (keep !== undefined && size + bytes.length <= keep) kept.push(bytes);
      size += bytes.length;
      if (held) await write(res, held);
      held = bytes;
    }
    if (held) res.end(held);
    else res.end();
  } catch {
    res.destroy();
    upstream.body.destroy();
    return undefined;
  }
  return keep !== undefined && size <= keep ? Buffer.concat(kept) : undefined;
}

async function write(res: ServerResponse, bytes: Buffer): Promise<void> {
  if (res.destroyed) throw new Error("client went away");
  if (!res.write(bytes)) await Promise.race([once(res, "drain"), once(res, "close")]);
}

/** Adds the sidecar's answers to the upstream's batch answer, keeping the upstream's bytes. */
export function mergeIntoBatch(upstreamText: string, synthesized: readonly unknown[]): string {
  const ours = synthesized.map((a) => JSON.stringify(a)).join(",");
  const trimmed = upstreamText.trim();
  if (trimmed.startsWith("[") && trimmed.endsWith("]")) {
    const inner = trimmed.slice(1, -1);
    return inner.trim() === "" ? `[${ours}]` : `[${inner},${ours}]`;
  }
  return `[${trimmed},${ours}]`;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
