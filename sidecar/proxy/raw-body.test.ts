import assert from "node:assert/strict";
import { createServer, request, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { readRawBody, type RawBody } from "./raw-body.ts";

describe("raw request bodies", () => {
  const results: RawBody[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    void readRawBody(req, 100).then((read) => {
      results.push(read);
      res.writeHead(read.ok ? 200 : read.status, { connection: "close" }).end();
    });
  });
  let port = 0;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  // A refusal may close the connection while the client still writes: what the server read is the answer.
  const send = (chunks: string[], headers: Record<string, string> = {}) =>
    new Promise<RawBody>((resolve) => {
      const req = request({ port, host: "127.0.0.1", method: "POST", path: "/", headers }, (res) => {
        res.resume();
        res.on("end", () => resolve(results.at(-1) as RawBody));
      });
      req.on("error", () => setTimeout(() => resolve(results.at(-1) as RawBody), 50));
      for (const c of chunks) req.write(c);
      req.end();
    });

  it("reads a body within the bound byte for byte, in one chunk or several", async () => {
    const one = await send(["é".repeat(10)], { "content-length": "20" });
    assert.ok(one.ok && one.body.toString("utf8") === "é".repeat(10));
    const several = await send(["a".repeat(40), "b".repeat(40), "c".repeat(20)]);
    assert.ok(several.ok && several.body.toString() === `${"a".repeat(40)}${"b".repeat(40)}${"c".repeat(20)}`);
  });

  it("refuses a body announced or found over the bound with 413", async () => {
    assert.deepEqual(await send(["x".repeat(101)], { "content-length": "101" }), { ok: false, status: 413, message: "Request body larger than 100 bytes" });
    assert.deepEqual(await send(["x".repeat(60), "x".repeat(60)]), { ok: false, status: 413, message: "Request body larger than 100 bytes" });
  });
});
