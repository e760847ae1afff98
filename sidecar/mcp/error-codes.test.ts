// The sidecar's own JSON-RPC error codes stay inside the implementation range -32000…-32019; the
// 2026-07-28 revision reserves -32020…-32099 for the protocol. Codes are defined once, in answers.ts.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as answers from "./answers.ts";

/** JSON-RPC's own codes, and the protocol's codes the sidecar answers with as the protocol defines them. */
const JSON_RPC = new Set([-32700, -32600, -32601, -32602, -32603]);
const PROTOCOL = new Map([[-32020, "HEADER_MISMATCH"]]);

test("every code answers.ts defines is JSON-RPC's, the protocol's own, or in -32000…-32019", () => {
  const codes = Object.entries(answers).filter(([, v]) => typeof v === "number") as [string, number][];
  assert.ok(codes.length >= 8);
  for (const [name, code] of codes) {
    const ok = JSON_RPC.has(code) || PROTOCOL.get(code) === name || (code >= -32019 && code <= -32000);
    assert.ok(ok, `${name} = ${code} is outside -32000…-32019 (reserved for the protocol from -32020 on)`);
  }
});

test("no other sidecar source writes an error code literally", () => {
  const root = new URL("..", import.meta.url).pathname;
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? files(join(dir, e.name))
        : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")
          ? [join(dir, e.name)]
          : [],
    );
  const offenders = files(root).filter(
    (f) =>
      !f.endsWith("answers.ts") && !f.endsWith("request-metadata.ts") && /-32[0-9]{3}\b/.test(readFileSync(f, "utf8")),
  );
  assert.deepEqual(offenders, []);
});
