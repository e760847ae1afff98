// Requests Node's HTTP parser refuses before any handler runs (headers over the size bound, a request
// that is not HTTP, a request that did not arrive in time). Node's default answer has no body; MCP
// clients read a JSON-RPC error, as for every other refusal of the sidecar. The
// connection is closed afterwards: the parser cannot tell where the next request would begin.
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { INVALID_REQUEST, rpcError } from "../mcp/answers.ts";

interface ClientError extends Error {
  code?: string;
}

/** The status and message for a request the HTTP parser refused. */
export function clientErrorAnswer(err: ClientError): { status: number; message: string } {
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") return { status: 408, message: "The request did not arrive in time" };
  if (err.code === "HPE_HEADER_OVERFLOW")
    return { status: 431, message: "Request headers larger than the server accepts" };
  return { status: 400, message: "Malformed HTTP request" };
}

/** A `clientError` listener of the MCP port's server: answers with a JSON-RPC error and closes the connection. */
export function clientErrorHandler(onRefused: () => void): (err: ClientError, socket: Duplex) => void {
  return (err, socket) => {
    // A reset connection has nobody left to answer.
    if (err.code === "ECONNRESET" || socket.destroyed) return;
    onRefused();
    const { status, message } = clientErrorAnswer(err);
    const body = JSON.stringify(rpcError(null, INVALID_REQUEST, message));
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}
