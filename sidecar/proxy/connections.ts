// Client connections of the MCP endpoint, for a shutdown that loses nothing. Node's own
// `server.close()` destroys every keep-alive connection that is idle at that instant, including one
// whose next request has already arrived but not been read yet: that request was sent before the
// signal and would be lost. So shutdown here (1) stops accepting, (2) lets the event loop read what
// has already arrived, so those requests start, (3) closes the connections with nothing in progress,
// and the others once their answer is complete. A request that still turns up on a connection being
// closed was sent after the signal; it is refused unprocessed. Node does not count a connection that
// never sent a request as idle; it is closed here too.
import type { Server } from "node:http";
import { Server as NetServer, type Socket } from "node:net";
import { setImmediate as nextTurn } from "node:timers/promises";

export class ConnectionTracker {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Sockets with an exchange in progress, and how many. */
  private readonly busy = new Map<Socket, number>();
  /** Sockets closed (or closing) by the drain: nothing more is served on them. */
  private readonly released = new WeakSet<Socket>();
  private draining = false;
  private emptied: (() => void) | undefined;

  constructor(server: Server) {
    this.server = server;
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => {
        this.sockets.delete(socket);
        this.busy.delete(socket);
        if (this.sockets.size === 0) this.emptied?.();
      });
    });
  }

  /**
   * An exchange starts on `socket`: returns its `done` callback, or undefined when the connection is
   * being closed by the drain (the request came after the signal; the socket is destroyed, unanswered).
   */
  begin(socket: Socket): (() => void) | undefined {
    if (this.released.has(socket)) {
      socket.destroy();
      return undefined;
    }
    this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.busy.get(socket) ?? 1) - 1;
      if (left > 0) this.busy.set(socket, left);
      else {
        this.busy.delete(socket);
        if (this.draining) this.release(socket, "end");
      }
    };
  }

  /** New connections are refused from now on; open ones are left alone (see `drain`). */
  stopAccepting(): void {
    // http.Server#close would also destroy idle keep-alive connections at once: only the listener goes.
    if (this.server.listening) NetServer.prototype.close.call(this.server);
  }

  /**
   * Closes every connection as soon as it has nothing in progress. Waits two turns of the event loop
   * first, so requests whose bytes arrived before the call are read and count as in progress.
   */
  async drain(): Promise<void> {
    await nextTurn();
    await nextTurn();
    this.draining = true;
    // Idle connections hold nothing unread (the turns above read it): closing them loses nothing.
    for (const socket of this.sockets) if (!this.busy.has(socket)) this.release(socket, "destroy");
  }

  /** Resolves once no client connection is open. */
  closed(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.emptied;
      this.emptied = () => {
        previous?.();
        resolve();
      };
    });
  }

  get open(): number {
    return this.sockets.size;
  }

  private release(socket: Socket, how: "end" | "destroy"): void {
    this.released.add(socket);
    // After an answer: a graceful end, so the answer's last bytes are never lost to a reset.
    if (how === "end") socket.end();
    else socket.destroy();
  }
}
