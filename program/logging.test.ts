import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { createLogger, errorMessage } from "./logging.ts";
import { VERSION } from "./version.ts";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

describe("component loggers", () => {
  it("write ISO-8601 times, level names, the program and the component", () => {
    const { lines, destination } = capture();
    createLogger("operator", { level: "debug", destination }).debug({ key: "v" }, "hello");
    const line = lines[0] as Record<string, unknown>;
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(
      { ...line, time: undefined },
      { level: "debug", time: undefined, name: "mcp-warden", component: "operator", key: "v", msg: "hello" },
    );
  });

  it("log an error as its message, whether given the error or its text", () => {
    const { lines, destination } = capture();
    const log = createLogger("sidecar", { destination });
    log.warn({ err: new Error("connect ECONNREFUSED") }, "a");
    log.warn({ err: "connect ECONNREFUSED" }, "b");
    assert.deepEqual(
      lines.map((l) => l.err),
      ["connect ECONNREFUSED", "connect ECONNREFUSED"],
    );
    assert.equal(errorMessage({ code: 7 }), '{"code":7}');
    assert.equal(errorMessage(undefined), "undefined");
  });

  it("report package.json's version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    assert.equal(VERSION, pkg.version);
  });
});
