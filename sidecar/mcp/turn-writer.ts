// Writes a streamed answer in as few system calls as possible without holding anything back: what is
// written within one turn of the event loop leaves in one (vectored) write at the end of that turn (the headers
// with the first event, the last event with the end of the stream). SSE events are never delayed
// longer than that turn.
import { once } from "node:events";
import type { ServerResponse } from "node:http";

export class TurnWriter {
  private readonly res: ServerResponse;
  private pending: Buffer[] = [];
  private scheduled = false;
  /** Whether anything (headers included) has gone to the socket; `headersSent` is true from writeHead on. */
  private flushed = false;

  constructor(res: ServerResponse) {
    this.res = res;
    this.schedule(); // the headers go out at the end of this turn even if no data comes
  }

  /** Queues bytes for the end of this turn; resolves at once unless the client is not keeping up. */
  async write(bytes: Buffer): Promise<void> {
    if (this.res.destroyed) throw new Error("client went away");
    this.pending.push(bytes);
    this.schedule();
    if (this.res.writableNeedDrain) await Promise.race([once(this.res, "drain"), once(this.res, "close")]);
  }

  /** Ends the answer, with whatever is still queued in the same write. */
  end(): void {
    this.writePending(true);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.res.destroyed || this.res.writableEnded) return;
      if (this.pending.length > 0) this.writePending(false);
      else if (!this.flushed) this.res.flushHeaders();
      this.flushed = true;
    });
  }

  /**
   * Queued bytes, written as they are, and the end of the answer when `end`: the socket is corked
   * meanwhile, so they leave in one vectored write instead of being copied into one buffer. (The
   * socket, not the response: a response corked across its end() frames its chunks wrongly.)
   */
  private writePending(end: boolean): void {
    const pending = this.pending;
    this.pending = [];
    const socket = this.res.socket;
    socket?.cork();
    try {
      for (const bytes of pending) this.res.write(bytes);
      if (end) this.res.end();
    } finally {
      socket?.uncork();
    }
  }
}
