import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { changedFields, definitionDiff } from "./definition-diff.ts";
import { writeDriftReport, MAX_REPORT_BYTES, readDriftReport, DRIFT_REPORT_ANNOTATION } from "./drift-report.ts";

const before = {
  name: "send_mail",
  description: "Sends mail.",
  inputSchema: { type: "object", properties: { to: { type: "string" }, body: { type: "string" } } },
};

describe("definition diffs", () => {
  it("show only the changed fields, as unified hunks, whatever the key order", () => {
    const after = {
      inputSchema: {
        properties: { body: { type: "string" }, to: { type: "string", format: "email" } },
        type: "object",
      },
      name: "send_mail",
      description: "Sends mail.",
    };
    assert.deepEqual(changedFields(before, after), ["inputSchema"]);
    assert.equal(
      definitionDiff(before, after),
      [
        "--- pinned/inputSchema",
        "+++ live/inputSchema",
        "@@ -5,4 +5,5 @@",
        "     },",
        '     "to": {',
        '+      "format": "email",',
        '       "type": "string"',
        "     }",
      ].join("\n"),
    );
    assert.equal(definitionDiff(before, { ...before }), "");
  });

  it("show a field that appears, and the whole definition when the earlier one is unknown", () => {
    assert.match(
      definitionDiff(before, { ...before, title: "Mail" }),
      /^--- \/dev\/null\n\+\+\+ live\/title\n@@ -1,0 \+1,1 @@\n\+"Mail"$/,
    );
    assert.match(
      definitionDiff(undefined, before),
      /^--- \/dev\/null\n\+\+\+ live\/name\n@@ -1,0 \+1,1 @@\n\+"send_mail"\n--- \/dev\/null\n\+\+\+ live\/description/,
    );
  });

  it("are bounded", () => {
    const huge = { ...before, description: "x\n".repeat(10_000) };
    const diff = definitionDiff(before, { ...huge, description: "y ".repeat(50_000) }, 1000);
    assert.ok(diff.length <= 1100, `${diff.length}`);
    assert.match(diff, /\n… diff cut: \d+ more characters$/);
  });

  it("keep drift reports under their size bound, dropping diffs first", () => {
    const tools = Array.from({ length: 200 }, (_, i) => ({
      tool: `t${i}`,
      state: "drifted" as const,
      pinned: null,
      live: null,
      fields: [],
      diff: "z".repeat(4000),
    }));
    const text = writeDriftReport({ pod: "p", generation: 1, mode: "Enforce", tools, omitted: 0 });
    assert.ok(Buffer.byteLength(text) <= MAX_REPORT_BYTES);
    const report = readDriftReport({ [DRIFT_REPORT_ANNOTATION]: text });
    assert.equal(report?.tools.length, 200);
    assert.match(report?.tools[199]?.diff ?? "", /^\(diff left out/);
  });
});
