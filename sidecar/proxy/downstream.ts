// Where an upstream answer goes: the client's HTTP answer (framed as the upstream framed it: a JSON
// body or an SSE stream), or the SSE answer of a call held for approval, which is already open and
// carries every message as an event. The relay writes to either the same way.
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { HeldAnswer } from "./held-answer.ts";
import { INVALID_REQUEST, rpcError } from "../mcp/answers.ts";
import { jsonOf } from "../mcp/json-text.ts";
import type { RequestId } from "../mcp/jsonrpc.ts";
import { TurnWriter } from "../mcp/turn-writer.ts";

export interface EventSink {
  write(bytes: Buffer): Promise<void>;
  end(): void;
}

export interface Downstream {
  readonly destroyed: boolean;
  /** A complete answer: the messages for the client (possibly none), as one JSON body. */
  answer(status: number, headers: OutgoingHttpHeaders, messages: readonly unknown[]): Promise<void>;
  /** Opens a streamed answer. */
  stream(status: number, headers: OutgoingHttpHeaders): EventSink;
  /** The sidecar's own error in place of an upstream answer that cannot be relayed. */
  fail(status: number, message: string): Promise<void>;
  /** Cuts the answer off (the client sees the connection end). */
  destroy(): void;
}

/** The client's own HTTP answer. `batch`: the client sent a batch, so a JSON answer is an array. */
export class HttpDownstream implements Downstream {
  private readonly res: ServerResponse;
  private readonly batch: boolean;
  private readonly soleId: RequestId | null;

  constructor(res: ServerResponse, options: { batch: boolean; soleId: RequestId | null }) {
    this.res = res;
    this.batch = options.batch;
    this.soleId = options.soleId;
  }

  get destroyed(): boolean {
    return this.res.destroyed;
  }

  answer(status: number, headers: OutgoingHttpHeaders, messages: readonly unknown[]): Promise<void> {
    if (messages.length === 0 && status >= 200 && status < 300) {
      this.res.writeHead(status, headers).end();
      return Promise.resolve();
    }
    const body =
      messages.length === 0
        ? rpcError(null, INVALID_REQUEST, `The MCP server behind the policy proxy answered HTTP ${status}`)
        : this.batch
          ? messages
          : messages.length === 1
            ? messages[0]
            : messages;
    sendJson(this.res, status === 202 ? 200 : status, body, headers);
    return Promise.resolve();
  }

  stream(status: number, headers: OutgoingHttpHeaders): EventSink {
    this.res.writeHead(status, headers);
    return new TurnWriter(this.res);
  }

  fail(status: number, message: string): Promise<void> {
    if (this.res.headersSent) this.destroy();
    else sendJson(this.res, status, rpcError(this.soleId, INVALID_REQUEST, message));
    return Promise.resolve();
  }

  destroy(): void {
    this.res.destroy();
  }
}

/** The already-open answer of a call that waited for approval: every message is an SSE event. */
export class HeldDownstream implements Downstream {
  private readonly held: HeldAnswer;
  private readonly res: ServerResponse;
  private readonly callId: RequestId;

  constructor(held: HeldAnswer, res: ServerResponse, callId: RequestId) {
    this.held = held;
    this.res = res;
    this.callId = callId;
  }

  get destroyed(): boolean {
    return this.res.destroyed;
  }

  async answer(_status: number, _headers: OutgoingHttpHeaders, messages: readonly unknown[]): Promise<void> {
    for (const m of messages) await this.held.send(m);
    this.held.end();
  }

  stream(): EventSink {
    const writer = this.held.open();
    return { write: (bytes) => writer.write(bytes), end: () => this.held.end() };
  }

  async fail(_status: number, message: string): Promise<void> {
    await this.held.send(rpcError(this.callId, INVALID_REQUEST, message)).catch(() => undefined);
    this.held.end();
  }

  destroy(): void {
    this.res.destroy();
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = jsonOf(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
