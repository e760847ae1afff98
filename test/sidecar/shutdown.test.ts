// Graceful shutdown of the in-process sidecar, where the test controls exactly what happens before
// the shutdown starts: a request already received on an idle keep-alive connection is answered (not
// dropped with the connection), answers given during the shutdown say `Connection: close`, and
// nothing new is accepted.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { KEYS, startHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";

function httpRequest(path: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.alice}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Reads until the peer closes; resolves with everything it sent. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("close", () => resolve(data));
    socket.on("error", () => undefined);
  });
}

const ping = (id: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
  });

describe("shutdown", () => {
  it("answers a request that arrived on an idle keep-alive connection just before the shutdown, with Connection: close", async () => {
    const h = await startHarness({
      policy: mcpPolicy("default: allow"),
      upstream: { answers: "json", sessions: false },
    });
    try {
      const { port, pathname } = new URL(h.sidecar.url);
      const socket = connect(Number(port), "127.0.0.1");
      const everything = readAll(socket);
      await new Promise((resolve) => socket.once("connect", resolve));
      // A first exchange leaves the connection idle and kept alive.
      socket.write(httpRequest(pathname, ping(1)));
      await new Promise<void>((resolve) => {
        let seen = "";
        const onData = (chunk: string) => {
          seen += chunk;
          if (/"id":1/.test(seen)) {
            socket.off("data", onData);
            resolve();
          }
        };
        socket.on("data", onData);
      });
      // The next request is on its way (in the sidecar's receive buffer, not read yet) when the shutdown starts.
      socket.write(httpRequest(pathname, ping(2)));
      const stopped = h.sidecar.shutdown(10_000);
      const answers = await everything;
      await stopped;
      const second = answers.slice(answers.indexOf("HTTP/1.1", 10));
      assert.match(
        second,
        /^HTTP\/1\.1 200 /,
        `the second request was answered: ${JSON.stringify(answers.slice(-400))}`,
      );
      assert.match(second, /\r\nconnection: close\r\n/i);
      assert.match(second, /"id":2/);
      await assert.rejects(
        new Promise((resolve, reject) =>
          connect(Number(port), "127.0.0.1").once("connect", resolve).once("error", reject),
        ),
        /ECONNREFUSED/,
      );
    } finally {
      await h.close();
    }
  });
});
