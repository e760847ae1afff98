// Client connections of the MCP endpoint, for what Node's server does not do by itself: a connection
// that never sends a request is not "idle" to closeIdleConnections() and no request timeout covers it,
// so shutdown (and the connection timeout) must deal with it here; and a connection that finishes its
// last answer during shutdown is closed at once instead of waiting for the client to let go.
import type { Server } from "node:http";
import type { Socket } from "node:net";

export class ConnectionTracker {
  private readonly sockets = new Set<Socket>();
  /** Sockets with an exchange in progress, and how many. */
  private readonly busy = new Map<Socket, number>();
  private draining = false;

  constructor(server: Server) {
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => {
        this.sockets.delete(socket);
        this.busy.delete(socket);
      });
    });
  }

  /** An exchange started on `socket`; `done` when its answer is over. */
  begin(socket: Socket): () => void {
    this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.busy.get(socket) ?? 1) - 1;
      if (left > 0) this.busy.set(socket, left);
      else {
        this.busy.delete(socket);
        if (this.draining) socket.end();
      }
    };
  }

  /** From now on, close every connection as soon as it has nothing in progress. */
  drain(): void {
    this.draining = true;
    for (const socket of this.sockets) if (!this.busy.has(socket)) socket.end();
  }

  get open(): number {
    return this.sockets.size;
  }
}
