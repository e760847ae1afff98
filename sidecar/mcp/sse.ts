// Server-Sent Events as they cross the proxy: split into events without touching their bytes, so
// each event can be relayed verbatim, inspected, or (for a tools/list answer) rewritten.
// Lines end with CRLF, LF or CR (WHATWG HTML §9.2); an empty line ends an event. A byte order mark at
// the very start of a stream is not part of its first event: clients skip it (the UTF-8 decode
// step), so an event read with it would be a different event than the one the client reads.
import { jsonOf } from "./json-text.ts";

export interface SseEvent {
  /** The event's bytes including the blank line that ends it. */
  readonly raw: Buffer;
}

const LF = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export class SseSplitter {
  private pending: Buffer = Buffer.alloc(0);
  /** Offset in `pending` where the current line starts. */
  private lineStart = 0;
  private readonly maxEventBytes: number;
  /** Set once an event grew past the bound; the splitter then stops and callers fall back. */
  overflowed = false;
  /** Whether the stream's first bytes were looked at for a byte order mark. */
  private started = false;

  constructor(maxEventBytes: number) {
    this.maxEventBytes = maxEventBytes;
  }

  /** Feeds bytes; returns the events they complete. */
  push(chunk: Buffer): SseEvent[] {
    if (this.overflowed) return [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (!this.started) {
      // A byte order mark may arrive a byte at a time.
      if (this.pending.length < BOM.length && BOM.subarray(0, this.pending.length).equals(this.pending)) return [];
      this.started = true;
      if (this.pending.subarray(0, BOM.length).equals(BOM)) this.pending = this.pending.subarray(BOM.length);
    }
    return this.split(false);
  }

  /** The stream ended: a CR at the very end is a line end after all. Returns the last events. */
  end(): SseEvent[] {
    this.started = true;
    return this.overflowed ? [] : this.split(true);
  }

  private split(ended: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    const buf = this.pending;
    let eventStart = 0;
    let pos = this.lineStart;
    for (;;) {
      const end = nextLineEnd(buf, pos);
      if (end === -1) break;
      // A CR at the very end may be the first half of a CRLF still in flight.
      if (buf[end] === CR && end + 1 === buf.length && !ended) break;
      const terminatorLength = buf[end] === CR && buf[end + 1] === LF ? 2 : 1;
      const emptyLine = end === pos;
      pos = end + terminatorLength;
      if (emptyLine) {
        events.push({ raw: buf.subarray(eventStart, pos) });
        eventStart = pos;
      }
    }
    this.pending = buf.subarray(eventStart);
    this.lineStart = pos - eventStart;
    if (this.pending.length > this.maxEventBytes) {
      this.overflowed = true;
      this.pending = Buffer.alloc(0);
    }
    return events;
  }

  /** Bytes of an unfinished event when the stream ends. */
  rest(): Buffer {
    return this.pending;
  }
}

function nextLineEnd(buf: Buffer, from: number): number {
  const lf = buf.indexOf(LF, from);
  const cr = buf.indexOf(CR, from);
  if (lf === -1) return cr;
  if (cr === -1) return lf;
  return Math.min(lf, cr);
}

const DATA = Buffer.from("data", "latin1");
const COLON = 0x3a;
const SPACE = 0x20;

/**
 * Where the value of an event's only data line lies in its bytes (after `data:` and one optional
 * space, up to the line end), so it can be rewritten in place; undefined when the event has no data
 * line or more than one.
 */
export function dataValueSpan(raw: Buffer): { start: number; end: number } | undefined {
  let span: { start: number; end: number } | undefined;
  let pos = 0;
  while (pos < raw.length) {
    let end = nextLineEnd(raw, pos);
    if (end === -1) end = raw.length;
    const isData =
      end - pos >= 4 && raw.compare(DATA, 0, 4, pos, pos + 4) === 0 && (end - pos === 4 || raw[pos + 4] === COLON);
    if (isData) {
      if (span) return undefined;
      let start = Math.min(pos + 5, end);
      if (start < end && raw[start] === SPACE) start++;
      span = { start, end };
    }
    pos = end + (raw[end] === CR && raw[end + 1] === LF ? 2 : 1);
  }
  return span;
}

/**
 * The event's data (data lines joined by LF), or undefined when it has none (comments, priming). An
 * event with one data line (every message event the sidecar relays) has only that line's bytes
 * decoded, into a string of its own: decoding and splitting the whole event costs time in proportion
 * to its size, and leaves the data a slice of a larger string, which the answer's scan reads more
 * slowly. Line ends, colons and spaces are ASCII, so the line decoded alone is the same text.
 */
export function eventData(raw: Buffer): string | undefined {
  const span = dataValueSpan(raw);
  if (span !== undefined) return raw.toString("utf8", span.start, span.end);
  let data: string | undefined;
  for (const line of raw.toString("utf8").split(/\r\n|\r|\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== "data") continue;
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}

/**
 * The same event with its data replaced; every other field (id, event, retry, comments) is kept in
 * place, with the event's own line ending.
 */
export function replaceEventData(raw: Buffer, data: string): Buffer {
  const text = raw.toString("utf8");
  const eol = /\r\n|\r|\n/.exec(text)?.[0] ?? "\n";
  const lines = text.split(/\r\n|\r|\n/);
  const out: string[] = [];
  let written = false;
  for (const line of lines) {
    if (line === "") continue;
    const isData = line === "data" || line.startsWith("data:");
    if (!isData) out.push(line);
    else if (!written) {
      out.push(`data: ${data}`);
      written = true;
    }
  }
  return Buffer.from(`${out.join(eol)}${eol}${eol}`, "utf8");
}

/** An SSE message event carrying one JSON-RPC message, as the sidecar writes its own answers. */
export function messageEvent(message: unknown): Buffer {
  return Buffer.from(`event: message\ndata: ${jsonOf(message)}\n\n`, "utf8");
}
