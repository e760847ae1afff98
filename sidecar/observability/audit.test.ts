import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { sessionFingerprint } from "../sessions.ts";
import { writeAudit, type AuditRecord } from "./audit.ts";

const common = {
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label: string) => ({ level: label }) },
};
/** The production audit logger's options, writing into an array. */
function auditLogger(lines: string[], extra: Record<string, unknown> = {}) {
  return pino(
    {
      ...common,
      name: "mcp-warden-audit",
      level: "info",
      base: { audit: true },
      ...extra,
      formatters: { ...common.formatters, ...((extra.formatters as object) ?? {}) },
    },
    { write: (s: string) => void lines.push(s) },
  );
}

const record: AuditRecord = {
  policy: "kestra",
  policyVersion: "3",
  mode: "Enforce",
  grant: "apikey:alice",
  sub: "alice",
  authMethod: "apikey",
  session: "s-1",
  requestId: 7,
  tool: "list_executions",
  verdict: { decision: "allowed", reason: "rule_allowed", rule: "/spec/tools/0", message: "" },
  forwarded: true,
  arguments: { b: 1, a: 2 },
  upstreamStatus: 200,
  upstreamOutcome: "ok",
  refunded: false,
  durationSeconds: 0.0012345,
};

describe("audit lines", () => {
  it("are one JSON line each with pino's level, time and bindings first, the fields in a fixed order, the message last", () => {
    const lines: string[] = [];
    writeAudit(auditLogger(lines), record);
    assert.equal(lines.length, 1);
    const line = lines[0] as string;
    assert.ok(line.endsWith("}\n") && line.indexOf("\n") === line.length - 1);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), [
      "level",
      "time",
      "audit",
      "name",
      "policy",
      "policyVersion",
      "mode",
      "caller",
      "session",
      "requestId",
      "kind",
      "tool",
      "decision",
      "reason",
      "rule",
      "forwarded",
      "argumentKeys",
      "upstreamStatus",
      "upstreamOutcome",
      "succeeded",
      "refunded",
      "durationMs",
      "msg",
    ]);
    assert.deepEqual(
      { ...parsed, time: undefined },
      {
        level: "info",
        time: undefined,
        audit: true,
        name: "mcp-warden-audit",
        policy: "kestra",
        policyVersion: "3",
        mode: "Enforce",
        caller: { grant: "apikey:alice", sub: "alice", method: "apikey" },
        session: sessionFingerprint("s-1"),
        requestId: 7,
        kind: "tool",
        tool: "list_executions",
        decision: "allowed",
        reason: "rule_allowed",
        rule: "/spec/tools/0",
        forwarded: true,
        argumentKeys: ["a", "b"],
        upstreamStatus: 200,
        upstreamOutcome: "ok",
        succeeded: true,
        refunded: false,
        durationMs: 1.235,
        msg: "tool call",
      },
    );
  });

  it("keep hostile caller-chosen strings inside one parseable line, with the same values", () => {
    const hostile = 'a"b\\c\nd\u2028e\u0000f\ud800g😀';
    const lines: string[] = [];
    writeAudit(auditLogger(lines), {
      ...record,
      kind: "resource",
      tool: hostile,
      requestId: hostile,
      session: undefined,
      upstreamStatus: undefined,
      policy: undefined,
    });
    assert.equal(lines.length, 1);
    assert.equal((lines[0] as string).split("\n").length, 2);
    const parsed = JSON.parse(lines[0] as string) as Record<string, unknown>;
    assert.equal(parsed.uri, hostile);
    assert.equal(parsed.requestId, hostile);
    assert.equal(parsed.session, null);
    assert.equal(parsed.policy, null);
    assert.equal(parsed.upstreamStatus, null);
    assert.equal(parsed.msg, "resource read");
  });

  it("carry the same fields through a logger that transforms lines (written by pino itself)", () => {
    const full: AuditRecord = {
      ...record,
      kind: "prompt",
      verdict: { ...record.verdict, retryAfterSeconds: 2 },
      traceId: "0af7651916cd43dd8448eb211c80319c",
      approval: { name: "ns/a", via: "Kubernetes", decidedBy: "bob" },
      results: { action: "redacted", result: {}, detectors: { email: 2 }, rule: "/spec/results/0" },
    };
    const direct: string[] = [];
    const transformed: string[] = [];
    writeAudit(auditLogger(direct), full);
    writeAudit(auditLogger(transformed, { formatters: { log: (o: object) => o } }), full);
    const strip = (l: string) => ({ ...(JSON.parse(l) as object), time: undefined });
    assert.deepEqual(strip(transformed[0] as string), strip(direct[0] as string));
    assert.deepEqual((JSON.parse(direct[0] as string) as { results: unknown }).results, {
      action: "redacted",
      detectors: { email: 2 },
      rule: "/spec/results/0",
    });
  });

  it("write an approval decided by nobody named (an empty decidedBy) as null, as before", () => {
    const lines: string[] = [];
    writeAudit(auditLogger(lines), { ...record, approval: { name: "ns/a", via: "Elicitation", decidedBy: "" } });
    assert.deepEqual((JSON.parse(lines[0] as string) as { approval: unknown }).approval, {
      name: "ns/a",
      via: "Elicitation",
      decidedBy: null,
    });
  });

  it("are not written when the audit logger's level is above info", () => {
    const lines: string[] = [];
    writeAudit(auditLogger(lines, { level: "silent" }), record);
    assert.deepEqual(lines, []);
  });
});
