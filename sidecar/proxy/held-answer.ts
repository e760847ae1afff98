// The answer to a tool call held for approval, kept alive while it waits. A client that accepts
// text/event-stream gets the answer as an SSE stream, opened at the first keep-alive (or at once when
// a question must be sent on it): every `keepAliveMs` it carries a progress notification when the
// client asked for progress (params._meta.progressToken; clients that reset their timeout on
// progress keep waiting), otherwise an SSE comment, so no proxy or client drops a quiet stream. A
// decision that comes before the first keep-alive is answered as if nothing had been held. A client
// that accepts only JSON just waits.
import type { ServerResponse } from "node:http";
import type { Clock, TimerHandle } from "../../kube/clock.ts";
import { messageEvent } from "../mcp/sse.ts";
import { TurnWriter } from "../mcp/turn-writer.ts";

export interface HeldAnswerOptions {
  clock: Clock;
  keepAliveMs: number;
  /** The client accepts text/event-stream: keep-alives (and elicitation) are possible. */
  streaming: boolean;
  /** The call's params._meta.progressToken, if it sent one. */
  progressToken: string | number | undefined;
  /** How long the call may wait, for the progress total. */
  timeoutMs: number;
  /** What the call is waiting for, for progress messages and comments (one line). */
  describe: () => string;
}

export class HeldAnswer {
  readonly #res: ServerResponse;
  readonly #o: HeldAnswerOptions;
  readonly #startedAt: number;
  #writer: TurnWriter | undefined;
  #timer: TimerHandle | undefined;
  #stopped = false;
  #ticks = 0;

  constructor(res: ServerResponse, options: HeldAnswerOptions) {
    this.#res = res;
    this.#o = options;
    this.#startedAt = options.clock.now();
  }

  /** Starts the keep-alives (nothing is written before the first one falls due). */
  start(): void {
    if (this.#o.streaming) this.#schedule();
  }

  get opened(): boolean {
    return this.#writer !== undefined;
  }

  get streaming(): boolean {
    return this.#o.streaming;
  }

  /** Keep-alives sent so far. */
  get ticks(): number {
    return this.#ticks;
  }

  /** Opens the SSE answer now (idempotent). */
  open(): TurnWriter {
    if (this.#writer) return this.#writer;
    if (!this.#o.streaming) throw new Error("the client does not accept an SSE answer");
    this.#res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    });
    this.#writer = new TurnWriter(this.#res);
    return this.#writer;
  }

  /** Writes one JSON-RPC message as an SSE event on the (opened) answer. */
  async send(message: unknown): Promise<void> {
    await this.open().write(messageEvent(message));
  }

  /** Stops the keep-alives; the answer stays open for what comes next. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Ends an opened answer. */
  end(): void {
    this.stop();
    this.#writer?.end();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.schedule(this.#o.keepAliveMs, () => {
      this.#timer = undefined;
      if (this.#stopped || this.#res.destroyed) return;
      this.#ticks++;
      void this.#keepAlive().catch(() => this.stop());
      this.#schedule();
    });
  }

  async #keepAlive(): Promise<void> {
    const writer = this.open();
    const what = this.#o.describe().replace(/[\r\n]+/g, " ");
    if (this.#o.progressToken === undefined) {
      await writer.write(Buffer.from(`: ${what}\n\n`, "utf8"));
      return;
    }
    // Seconds waited so far: increases with every notification, as progress must.
    const elapsed = Math.round(this.#o.clock.now() - this.#startedAt) / 1000;
    await this.send({
      jsonrpc: "2.0",
      method: "notifications/progress",
      params: {
        progressToken: this.#o.progressToken,
        progress: elapsed,
        total: Math.round(this.#o.timeoutMs / 1000),
        message: what,
      },
    });
  }
}

/** Whether an Accept header admits text/event-stream. */
export function acceptsEventStream(accept: string | string[] | undefined): boolean {
  const values = (Array.isArray(accept) ? accept.join(",") : (accept ?? ""))
    .split(",")
    .map((v) => v.split(";")[0]?.trim().toLowerCase());
  return values.includes("text/event-stream") || values.includes("text/*") || values.includes("*/*");
}

/** params._meta.progressToken of a request, when it is a string or a number. */
export function progressTokenOf(params: unknown): string | number | undefined {
  const meta = (params as { _meta?: unknown } | undefined)?._meta;
  const token = typeof meta === "object" && meta !== null ? (meta as Record<string, unknown>).progressToken : undefined;
  return typeof token === "string" || (typeof token === "number" && Number.isFinite(token)) ? token : undefined;
}
