// The MCP endpoint's exchanges in progress and its open standalone streams, which a graceful shutdown
// waits for or ends: each exchange keeps its connection busy (proxy/connections.ts) until its answer
// is complete, and from the moment a shutdown starts every answer tells its client that the
// connection ends with it.
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { ConnectionTracker } from "./proxy/connections.ts";

export class InFlightExchanges {
  readonly #exchanges = new Set<ServerResponse>();
  readonly #streams = new Set<ServerResponse>();
  #connections: ConnectionTracker | undefined;
  #shuttingDown = false;

  /** The MCP server's connections; known once the server exists, which needs this object first. */
  attach(connections: ConnectionTracker): void {
    this.#connections = connections;
  }

  /** An exchange starts; false when its connection is being closed (it came after the signal). */
  begin(res: ServerResponse): boolean {
    const done = this.#connections?.begin(res.socket as Socket);
    if (!done) return false;
    this.#exchanges.add(res);
    if (this.#shuttingDown) res.setHeader("connection", "close");
    res.on("close", () => {
      this.#exchanges.delete(res);
      this.#streams.delete(res);
      done();
    });
    return true;
  }

  /** The exchange is a standalone stream (GET): a shutdown ends it rather than waiting for it. */
  stream(res: ServerResponse): void {
    this.#streams.add(res);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  get exchanges(): number {
    return this.#exchanges.size;
  }

  get streams(): number {
    return this.#streams.size;
  }

  /** From now on, answers close their connection. */
  startShutdown(): void {
    this.#shuttingDown = true;
  }

  /** Standalone streams end now; their clients reconnect elsewhere. */
  endStreams(): void {
    for (const res of this.#streams) res.destroy();
  }

  /** Answers not yet begun close their connection when complete. */
  closeConnectionsAfterAnswers(): void {
    for (const res of this.#exchanges) if (!res.headersSent) res.setHeader("connection", "close");
  }
}
