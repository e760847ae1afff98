import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { dataValueSpan, eventData, messageEvent, replaceEventData, SseSplitter } from "./sse.ts";

const split = (chunks: Buffer[], max = 1 << 20) => {
  const s = new SseSplitter(max);
  const events = [...chunks.flatMap((c) => s.push(c)), ...s.end()].map((e) => e.raw.toString("utf8"));
  return { events, rest: s.rest().toString("utf8"), overflowed: s.overflowed };
};

describe("SseSplitter", () => {
  it("yields the same events, byte for byte, however the stream is cut into chunks", () => {
    const event = fc
      .tuple(
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.array(
          fc.constantFrom(
            "event: message",
            "id: 7",
            "retry: 3000",
            ": keep-alive",
            'data: {"a":1}',
            "data:",
            "data: é中",
          ),
          { minLength: 1, maxLength: 4 },
        ),
      )
      .map(([eol, lines]) => lines.join(eol) + eol + eol);
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (events, cuts) => {
          const bytes = Buffer.from(events.join(""), "utf8");
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...points, bytes.length]
            .slice(1)
            .map((end, i, all) => bytes.subarray(i === 0 ? 0 : (all[i - 1] as number), end));
          const out = split(chunks);
          assert.deepEqual(out.events, events);
          assert.equal(out.rest, "");
        },
      ),
      { numRuns: 500 },
    );
  });

  it("waits when a chunk ends in CR: it may be half of a CRLF", () => {
    const s = new SseSplitter(1024);
    assert.deepEqual(s.push(Buffer.from("data: x\r\n\r")), []);
    assert.deepEqual(
      s.push(Buffer.from("\n")).map((e) => e.raw.toString()),
      ["data: x\r\n\r\n"],
    );
  });

  it("leaves out a byte order mark at the start of the stream (clients skip it), in one chunk or byte by byte, and only there", () => {
    const bytes = Buffer.from("\ufeffdata: 1\n\n\ufeffdata: 2\n\n", "utf8");
    assert.deepEqual(split([bytes]).events, ["data: 1\n\n", "\ufeffdata: 2\n\n"]);
    assert.deepEqual(split([...bytes].map((b) => Buffer.from([b]))).events, ["data: 1\n\n", "\ufeffdata: 2\n\n"]);
    assert.equal(eventData(Buffer.from(split([bytes]).events[0] as string, "utf8")), "1");
    const notBom = Buffer.from([0xef, 0xbb, 0x78, 0x0a, 0x0a]);
    assert.deepEqual(split([notBom.subarray(0, 2), notBom.subarray(2)]).events, [notBom.toString("utf8")]);
  });

  it("keeps an unfinished event as the rest, and gives up past the size bound", () => {
    assert.deepEqual(split([Buffer.from("data: 1\n\ndata: 2")]), {
      events: ["data: 1\n\n"],
      rest: "data: 2",
      overflowed: false,
    });
    assert.equal(split([Buffer.from(`data: ${"x".repeat(100)}`)], 64).overflowed, true);
  });
});

describe("SSE fields", () => {
  it("joins data lines, ignores comments and other fields, and tells priming events apart", () => {
    assert.equal(eventData(Buffer.from('event: message\nid: 3\ndata: {"a":\ndata: 1}\n\n')), '{"a":\n1}');
    assert.equal(eventData(Buffer.from("id: 9\nretry: 100\ndata: \n\n")), "");
    assert.equal(eventData(Buffer.from(": ping\n\n")), undefined);
    assert.equal(eventData(Buffer.from("data:x\r\n\r\n")), "x");
  });

  it("replaces the data and keeps every other field in place, with the event's line ending", () => {
    const out = replaceEventData(
      Buffer.from('event: message\r\nid: 4\r\ndata: {"old":\r\ndata: 1}\r\n: note\r\n\r\n'),
      '{"new":2}',
    );
    assert.equal(out.toString(), 'event: message\r\nid: 4\r\ndata: {"new":2}\r\n: note\r\n\r\n');
    assert.equal(replaceEventData(Buffer.from("id: 4\ndata: 1\n\n"), "2").toString(), "id: 4\ndata: 2\n\n");
    assert.equal(eventData(out), '{"new":2}');
    assert.equal(messageEvent({ a: 1 }).toString(), 'event: message\ndata: {"a":1}\n\n');
  });

  it("finds the bytes of an event's only data value, and refuses events with none or several", () => {
    const at = (text: string) => {
      const raw = Buffer.from(text, "utf8");
      const span = dataValueSpan(raw);
      return span && raw.subarray(span.start, span.end).toString("utf8");
    };
    assert.equal(at('event: message\ndata: {"id":1,"é":2}\n\n'), '{"id":1,"é":2}');
    assert.equal(at("id: 4\r\ndata:x\r\n: note\r\n\r\n"), "x");
    assert.equal(at("data\n\n"), "");
    assert.equal(at("database: 1\ndata: 2\n\n"), "2");
    assert.equal(at("event: message\n\n"), undefined);
    assert.equal(at("data: 1\ndata: 2\n\n"), undefined);
    fc.assert(
      fc.property(fc.string(), (value) => {
        const clean = value.replace(/[\r\n]/g, "");
        const raw = Buffer.from(`id: 1\ndata: ${clean}\n\n`, "utf8");
        const span = dataValueSpan(raw);
        return span !== undefined && raw.subarray(span.start, span.end).toString("utf8") === eventData(raw);
      }),
    );
  });

  it("reads an event's data as decoding the whole event and splitting its lines does, any bytes included", () => {
    // The reading by lines of the whole decoded event (the WHATWG rules), against which the one-line
    // shortcut is checked: invalid UTF-8, CR/LF/CRLF, comments, fields without a colon.
    const byLines = (raw: Buffer): string | undefined => {
      let data: string | undefined;
      for (const line of raw.toString("utf8").split(/\r\n|\r|\n/)) {
        if (line === "" || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        if ((colon === -1 ? line : line.slice(0, colon)) !== "data") continue;
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        data = data === undefined ? value : `${data}\n${value}`;
      }
      return data;
    };
    const piece = fc.oneof(
      fc.constantFrom(
        "data:",
        "data: ",
        "data",
        "datum: ",
        ": c",
        "id: 1",
        "event: message",
        "\n",
        "\r",
        "\r\n",
        " ",
        ":",
        "é",
        '{"id":1}',
      ),
      fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b).toString("latin1")),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.uint8Array({ maxLength: 4 })), { maxLength: 24 }), (parts) => {
        const raw = Buffer.concat(
          parts.map((p) =>
            typeof p === "string" ? Buffer.from(p, p.includes("é") ? "utf8" : "latin1") : Buffer.from(p),
          ),
        );
        return eventData(raw) === byLines(raw);
      }),
      { numRuns: 3000 },
    );
    assert.equal(
      eventData(Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xc3, 0x0a, 0x0a])),
      "\ufffd",
      "a sequence cut by the line end",
    );
    assert.equal(eventData(Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0xa9, 0x41, 0x0a])), "\ufffdA");
  });
});
