// Relays an upstream answer to the client, one JSON-RPC message at a time: every message is read,
// translated by the inspector (the client's ids back, hidden tools removed, foreign answers dropped) and
// written anew. A JSON body is read whole (bounded); an SSE stream is relayed event by event as events
// complete, never held longer. What cannot be read (an encoded body, an unknown type, a body or event
// over the inspection bound, text that is not JSON) is never relayed: the client gets an error instead.
// Requests still unanswered when the answer ends are answered by the sidecar, so no client waits out
// its timeout.
import { isUtf8 } from "node:buffer";
import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import { downstreamResponseHeaders, headerValue, mediaType } from "../mcp/http-headers.ts";
import { CONNECTION_CLOSED, rpcError } from "../mcp/answers.ts";
import { JsonText } from "../mcp/json-text.ts";
import { dataValueSpan, eventData, messageEvent, replaceEventData, SseSplitter } from "../mcp/sse.ts";
import type { AnswerInspector } from "./answer-inspector.ts";
import type { Downstream, EventSink } from "./downstream.ts";

export interface RelayPlan {
  inspector: AnswerInspector;
  /** The sidecar's answers to the batch elements it did not forward. */
  synthesized: readonly unknown[];
  maxInspectBytes: number;
  log: Logger;
}

/** Room for an SSE event's field names, id and line ends around its data. */
const SSE_FRAMING_BYTES = 4096;

const UNREADABLE = "The MCP server behind the policy proxy answered in a form the policy proxy cannot inspect";

export async function relayAnswer(upstream: Dispatcher.ResponseData, out: Downstream, plan: RelayPlan): Promise<void> {
  const status = upstream.statusCode;
  const type = mediaType(headerValue(upstream.headers, "content-type"));
  const encoding = headerValue(upstream.headers, "content-encoding");
  if (encoding !== undefined && encoding.toLowerCase() !== "identity")
    return refuse(upstream, out, plan, { contentEncoding: encoding });
  if (type === "text/event-stream" && status >= 200 && status < 300) return relayEvents(upstream, out, plan);
  return relayBody(upstream, out, plan, type);
}

async function relayBody(
  upstream: Dispatcher.ResponseData,
  out: Downstream,
  plan: RelayPlan,
  type: string | undefined,
): Promise<void> {
  const status = upstream.statusCode;
  const bound = resultBound(plan);
  const body = await readBounded(upstream, bound ?? plan.maxInspectBytes).catch(() => undefined);
  if (body === undefined && bound !== undefined && status >= 200 && status < 300)
    return withholdOversized(upstream, out, plan);
  if (body === undefined) return refuse(upstream, out, plan, { tooLarge: plan.maxInspectBytes });
  let messages: unknown[] = [];
  if (body.length > 0 && type === "application/json") {
    const read = bodyMessages(body.toString("utf8"), plan.inspector);
    if (read === undefined) return refuse(upstream, out, plan, { unparseable: true });
    messages = read;
  } else if (body.length > 0 && status >= 200 && status < 300) {
    return refuse(upstream, out, plan, { contentType: type });
  }
  const unanswered = status >= 200 && status < 300 ? unansweredErrors(plan.inspector) : [];
  plan.inspector.finish(status >= 400 ? "http_error" : "unknown", status);
  await out.answer(status, answerHeaders(upstream), [...messages, ...plan.synthesized, ...unanswered]);
}

async function relayEvents(upstream: Dispatcher.ResponseData, out: Downstream, plan: RelayPlan): Promise<void> {
  const { inspector } = plan;
  const sink = out.stream(upstream.statusCode, answerHeaders(upstream));
  const bound = resultBound(plan);
  // An event carries one message plus its field names and line ends.
  const splitter = new SseSplitter(bound === undefined ? plan.maxInspectBytes : bound + SSE_FRAMING_BYTES);
  try {
    for (const answer of plan.synthesized) await sink.write(messageEvent(answer));
    for await (const chunk of upstream.body) {
      for (const event of splitter.push(chunk as Buffer)) await writeEvent(sink, event.raw, plan);
      if (splitter.overflowed) throw new Error(`an SSE event larger than ${plan.maxInspectBytes} bytes`);
    }
    for (const event of splitter.end()) await writeEvent(sink, event.raw, plan);
    await endStream(sink, out, plan);
  } catch (err) {
    discard(upstream);
    if (out.destroyed) {
      inspector.finish("cancelled", upstream.statusCode);
      return;
    }
    if (splitter.overflowed && bound !== undefined) {
      // Over the policy's size bound: the calls get the result rules' refusal, the rest is not read.
      for (const answer of inspector.withholdOversized()) await sink.write(messageEvent(answer));
      await endStream(sink, out, plan).catch(() => out.destroy());
      return;
    }
    if (splitter.overflowed) {
      // The upstream answered; the sidecar cannot read it. No failure of the upstream: no refund.
      plan.log.error(
        { status: upstream.statusCode, tooLarge: plan.maxInspectBytes },
        "upstream answer cannot be inspected; refusing it",
      );
      await endStream(sink, out, plan, "unreadable").catch(() => out.destroy());
      return;
    }
    plan.log.warn(
      { err: (err as Error).message, unanswered: inspector.unanswered().length },
      "upstream SSE stream broke off",
    );
    await endStream(sink, out, plan, "connection_error").catch(() => out.destroy());
  }
}

/** One complete SSE event, translated; events without data (priming, comments) pass as they are. */
async function writeEvent(sink: EventSink, raw: Buffer, plan: RelayPlan): Promise<void> {
  const data = eventData(raw);
  if (data === undefined || data === "") return sink.write(raw);
  const fast = plan.inspector.fastTranslation(data);
  if (fast?.idSpan)
    return writeSpliced(sink, raw, data, fast.idSpan) ?? sink.write(replaceEventData(raw, fast.text as string));
  const translated = fast ? fast.text : plan.inspector.translateFull(data);
  if (translated === null) {
    plan.log.warn({ bytes: raw.length }, "upstream SSE event is not JSON; dropped");
    return;
  }
  if (translated !== undefined) await sink.write(replaceEventData(raw, translated));
}

/**
 * An answer whose only change is its id, written as the upstream's own bytes around the client's id:
 * no copy of the (possibly large) event is made, so large answers leave no garbage behind but the
 * text that was read. Undefined when the event's data is not one line (then it is written anew).
 */
function writeSpliced(
  sink: EventSink,
  raw: Buffer,
  data: string,
  idSpan: { start: number; end: number; id: string },
): Promise<void> | undefined {
  const value = dataValueSpan(raw);
  // Only bytes that decode exactly to the text inspected are relayed as they are, and no line of the
  // event is invalid UTF-8 (an event written anew has such bytes replaced).
  if (value === undefined || !isUtf8(raw) || value.end - value.start !== Buffer.byteLength(data)) return undefined;
  const idStart = value.start + Buffer.byteLength(data.slice(0, idSpan.start));
  const idEnd = idStart + (idSpan.end - idSpan.start);
  // Written without a turn in between, so nothing else on the answer comes between the parts.
  const parts = [
    sink.write(raw.subarray(0, idStart)),
    sink.write(Buffer.from(idSpan.id, "utf8")),
    sink.write(raw.subarray(idEnd)),
  ];
  return Promise.all(parts).then(() => undefined);
}

/**
 * Ends a streamed answer. Requests of the POST still unanswered get a JSON-RPC error; a stream with
 * none (a GET stream) that broke off is cut off, as the upstream's was.
 */
async function endStream(
  sink: EventSink,
  out: Downstream,
  plan: RelayPlan,
  broke?: "connection_error" | "unreadable",
): Promise<void> {
  const errors = unansweredErrors(plan.inspector, broke);
  // An answer the sidecar could not read may have been a result: only a real break-off is refunded.
  plan.inspector.finish(broke === "connection_error" ? "connection_error" : "unknown");
  if (broke && errors.length === 0) return out.destroy();
  for (const error of errors) await sink.write(messageEvent(error));
  sink.end();
}

/** A size bound result rules set below the inspection bound, when every forwarded call has one. */
function resultBound(plan: RelayPlan): number | undefined {
  const bound = plan.inspector.resultBound();
  return bound !== undefined && bound + SSE_FRAMING_BYTES < plan.maxInspectBytes ? bound : undefined;
}

/** An answer over the result rules' size bound: the calls get their refusal, read no further. */
async function withholdOversized(upstream: Dispatcher.ResponseData, out: Downstream, plan: RelayPlan): Promise<void> {
  discard(upstream);
  if (out.destroyed) return plan.inspector.finish("cancelled", upstream.statusCode);
  const answers = plan.inspector.withholdOversized();
  plan.inspector.finish("unknown", upstream.statusCode);
  await out.answer(200, answerHeaders(upstream), [...answers, ...plan.synthesized]);
}

async function refuse(
  upstream: Dispatcher.ResponseData,
  out: Downstream,
  plan: RelayPlan,
  why: Record<string, unknown>,
): Promise<void> {
  discard(upstream);
  if (out.destroyed) return plan.inspector.finish("cancelled", upstream.statusCode);
  plan.log.error({ status: upstream.statusCode, ...why }, "upstream answer cannot be inspected; refusing it");
  plan.inspector.finish("unknown", upstream.statusCode);
  await out.fail(502, UNREADABLE);
}

/** Stops reading an upstream answer; the error its body then reports is expected, not a crash. */
function discard(upstream: Dispatcher.ResponseData): void {
  upstream.body.on("error", () => undefined);
  upstream.body.destroy();
}

function unansweredErrors(inspector: AnswerInspector, end?: "connection_error" | "unreadable"): unknown[] {
  if (end === "unreadable") return inspector.unanswered().map((id) => rpcError(id, CONNECTION_CLOSED, UNREADABLE));
  const message = end
    ? "broke off its answer before answering this request"
    : "ended its answer without answering this request";
  return inspector
    .unanswered()
    .map((id) => rpcError(id, CONNECTION_CLOSED, `The MCP server behind the policy proxy ${message}`));
}

function answerHeaders(upstream: Dispatcher.ResponseData): Record<string, string | string[]> {
  const headers = downstreamResponseHeaders(upstream.headers, { keepLength: false }) as Record<
    string,
    string | string[]
  >;
  delete headers["content-encoding"];
  return headers;
}

async function readBounded(upstream: Dispatcher.ResponseData, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of upstream.body) {
    size += (chunk as Buffer).length;
    if (size > max) throw new Error(`the upstream answer is larger than ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

/**
 * The messages of a JSON body as the client is to see them (a batch's elements each), or undefined
 * when the body is not JSON. A single answer the fast reading is sure of keeps its own text.
 */
function bodyMessages(text: string, inspector: AnswerInspector): unknown[] | undefined {
  const fast = inspector.fastTranslate(text);
  if (fast) return fast.text === undefined ? [] : [new JsonText(fast.text)];
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
  const translated = inspector.translateSized(value, text);
  if (translated === undefined) return [];
  return Array.isArray(translated) ? (translated as unknown[]) : [translated];
}
