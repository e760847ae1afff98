import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { pino } from "pino";
import type { Dispatcher } from "undici";
import { KnownTools } from "../enforcement/tool-names.ts";
import { AnswerInspector, type ForwardedRequest } from "./answer-inspector.ts";
import type { Downstream } from "./downstream.ts";
import { relayAnswer } from "./relay.ts";

const log = pino({ level: "silent" });

/** Relays an SSE answer of `events` (each split into `chunk`-byte pieces) to a client whose request had id `clientId`. */
async function relayed(events: Buffer, clientId: string | number, chunk = 7): Promise<Buffer> {
  const forwarded = new Map<number, ForwardedRequest>([[101, { clientId, method: "tools/call" }]]);
  const inspector = new AnswerInspector({
    forwarded,
    knownTools: new KnownTools(),
    status: 200,
    log,
    onDropped: () => undefined,
    hidden: undefined,
  });
  const pieces: Buffer[] = [];
  for (let i = 0; i < events.length; i += chunk) pieces.push(events.subarray(i, i + chunk));
  const upstream = {
    statusCode: 200,
    headers: { "content-type": "text/event-stream" },
    body: Readable.from(pieces),
  } as unknown as Dispatcher.ResponseData;
  const written: Buffer[] = [];
  const out: Downstream = {
    destroyed: false,
    answer: () => Promise.reject(new Error("not a JSON answer")),
    stream: () => ({
      write: (bytes) => {
        written.push(Buffer.from(bytes));
        return Promise.resolve();
      },
      end: () => undefined,
    }),
    fail: () => Promise.reject(new Error("failed")),
    destroy: () => undefined,
  };
  await relayAnswer(upstream, out, { inspector, synthesized: [], maxInspectBytes: 1 << 20, log });
  return Buffer.concat(written);
}

describe("relaying SSE answers", () => {
  it("writes an answer whose only change is its id as the upstream's bytes around the client's id, whatever the id's characters", async () => {
    for (const clientId of [7, "ascii", "ð¯¿ñ¼", "日本\u2028😀", 'q"uo\\te']) {
      const text = `{"jsonrpc":"2.0","id":101,"result":{"content":[{"type":"text","text":"héllo ✓"}]}}`;
      const out = await relayed(Buffer.from(`event: message\r\nid: e1\r\ndata:${text}\r\n\r\n`, "utf8"), clientId);
      const expected = `event: message\r\nid: e1\r\ndata:${text.replace('"id":101', `"id":${JSON.stringify(clientId)}`)}\r\n\r\n`;
      assert.equal(out.toString("utf8"), expected);
    }
  });

  it("writes an event anew when its bytes are not valid UTF-8, never the invalid bytes", async () => {
    const before = Buffer.from(
      'event: message\ndata: {"jsonrpc":"2.0","id":101,"result":{"content":[{"type":"text","text":"',
      "utf8",
    );
    const after = Buffer.from('"}]}}\n\n', "utf8");
    const out = await relayed(Buffer.concat([before, Buffer.from([0xc0, 0xaf]), after]), 7);
    assert.ok(!out.includes(Buffer.from([0xc0, 0xaf])));
    assert.match(out.toString("utf8"), /^event: message\ndata: \{"jsonrpc":"2.0","id":7,"result":/);
  });

  it("writes an event anew when a line other than its data line is not valid UTF-8, never the invalid bytes", async () => {
    const text = '{"jsonrpc":"2.0","id":101,"result":{"content":[{"type":"text","text":"ok"}]}}';
    const out = await relayed(
      Buffer.concat([
        Buffer.from("event: m", "utf8"),
        Buffer.from([0xff, 0xc0]),
        Buffer.from(`\nid: 1\ndata: ${text}\n\n`, "utf8"),
      ]),
      7,
    );
    assert.ok(!out.includes(Buffer.from([0xff])) && !out.includes(Buffer.from([0xc0])), out.toString("latin1"));
    assert.match(out.toString("utf8"), /\ndata: \{"jsonrpc":"2.0","id":7,"result":/);
  });
});
