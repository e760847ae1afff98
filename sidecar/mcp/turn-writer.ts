// Writes a streamed answer in as few system calls as possible without holding anything back: what is
// written within one turn of the event loop leaves in one write at the end of that turn (the headers
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
    const data = this.take();
    if (data) this.res.end(data);
    else this.res.end();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.res.destroyed || this.res.writableEnded) return;
      const data = this.take();
      if (data) this.res.write(data);
      else if (!this.flushed) this.res.flushHeaders();
      this.flushed = true;
    });
  }

  private take(): Buffer | undefined {
    if (this.pending.length === 0) return undefined;
    const data = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    return data;
  }
}
