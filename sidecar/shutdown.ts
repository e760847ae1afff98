// The sidecar's graceful shutdown, in order: readiness drops and new connections are refused;
// standalone streams end (their clients reconnect elsewhere); calls held for approval end with
// [APPROVAL REQUIRED] (their approvals stay for a retry); requests that arrived before the signal are
// read and answered within the grace period, after which what is still open is closed; then the MCP
// endpoint closes and everything else is released.
import type { Logger } from "../program/logging.ts";
import type { InFlightExchanges } from "./in-flight.ts";
import type { ConnectionTracker } from "./proxy/connections.ts";
import type { McpServer } from "./proxy/mcp-server.ts";

export interface ShutdownSteps {
  log: Logger;
  inFlight: InFlightExchanges;
  connections: ConnectionTracker;
  /** Calls waiting for approval. */
  held: { readonly size: number; abortAll(): void };
  /** The MCP endpoint. */
  app: McpServer;
  upstream: { destroy(): Promise<void> };
  /** Everything else, once the MCP endpoint has closed. */
  release(): Promise<void>;
  /** Writes buffered log lines; the last step. */
  flushLogs(): void;
}

export async function shutDownGracefully(steps: ShutdownSteps, graceMs: number): Promise<void> {
  const { log, inFlight, connections } = steps;
  inFlight.startShutdown();
  log.info(
    { inFlight: inFlight.exchanges, streams: inFlight.streams, heldForApproval: steps.held.size, graceMs },
    "shutting down",
  );
  connections.stopAccepting();
  inFlight.endStreams();
  steps.held.abortAll();
  inFlight.closeConnectionsAfterAnswers();
  // Requests that arrived before the signal are read and answered; idle connections close now,
  // the others after their answer (see proxy/connections.ts).
  await connections.drain();
  if (!(await finishedWithin(connections, graceMs))) {
    log.warn({ inFlight: inFlight.exchanges }, "shutdown grace period over; closing what is still open");
    steps.app.server.closeAllConnections();
    await steps.upstream.destroy();
  }
  await steps.app.close();
  await steps.release();
  log.info("sidecar stopped");
  steps.flushLogs();
}

async function finishedWithin(connections: ConnectionTracker, graceMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    connections.closed().then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
  ]);
  clearTimeout(timer);
  return finished;
}
