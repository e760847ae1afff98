// Audit lines written through pino (an object per line, walked by pino) against the fixed-shape
// writer, in one run: the writer of a baseline commit (BENCH_BASELINE, default main) and this tree's,
// both into the production audit logger with a discarding stream, in interleaved blocks. Prints the
// median CPU time per line side by side, and whether both write byte-identical lines (time masked).
//
//   node bench/hotpath/audit.ts          BENCH_REPS (default 9), BENCH_LINES per block (default 20000)
import { join } from "node:path";
import { pino } from "pino";
import { baselineTree } from "../proxy/baseline.ts";
import type { AuditRecord } from "../../sidecar/observability/audit.ts";
import * as after from "../../sidecar/observability/audit.ts";

const REPS = Number(process.env.BENCH_REPS ?? 9);
const LINES = Number(process.env.BENCH_LINES ?? 20_000);
const baseline = baselineTree(process.env.BENCH_BASELINE ?? "main");
const before = (await import(join(baseline.dir, "sidecar/observability/audit.ts"))) as typeof after;

/** The audit logger as sidecar/observability/logging.ts configures it, writing into `write`. */
function auditLogger(write: (line: string) => void) {
  const common = {
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino({ ...common, name: "mcp-warden-audit", level: "info", base: { audit: true } }, { write });
}

const allowed: AuditRecord = {
  policy: "kestra",
  policyVersion: "7",
  mode: "Enforce",
  grant: "apikey:alice",
  sub: "alice",
  authMethod: "apikey",
  session: "3f1c2a9e-55b1-4c36-9f0e-8c1d2b7a6e40",
  requestId: 42,
  tool: "list_executions",
  verdict: { decision: "allowed", reason: "rule_allowed", rule: "/spec/tools/1", message: "" },
  forwarded: true,
  arguments: { namespace: "company.team", flow_id: "nightly-etl", size: 10 },
  upstreamStatus: 200,
  upstreamOutcome: "ok",
  refunded: false,
  durationSeconds: 0.000843,
};
const records: AuditRecord[] = [
  allowed,
  {
    ...allowed,
    kind: "resource",
    tool: 'kb://docs/"quoted"\n',
    requestId: "a\u2028b\\c",
    session: undefined,
    verdict: {
      decision: "denied",
      reason: "default_deny",
      rule: "(default deny)",
      message: "no",
      retryAfterSeconds: 3,
    },
    forwarded: false,
    upstreamStatus: undefined,
    upstreamOutcome: "not_forwarded",
  } as unknown as AuditRecord,
  {
    ...allowed,
    kind: "prompt",
    tool: "x".repeat(300),
    traceId: "0af7651916cd43dd8448eb211c80319c",
    approval: { name: "ns/a", via: "Kubernetes", decidedBy: "bob" },
    results: { action: "redacted", reason: undefined, result: {}, detectors: { email: 2 }, rule: "/spec/results/0" },
  } as unknown as AuditRecord,
  { ...allowed, approval: {}, arguments: Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, i])) },
];

function linesOf(impl: typeof after): string[] {
  const lines: string[] = [];
  const log = auditLogger((l) => void lines.push(l.replace(/"time":"[^"]*"/, '"time":"T"')));
  for (const r of records) impl.writeAudit(log, r);
  return lines;
}

function nsPerLine(impl: typeof after): number {
  let bytes = 0;
  const log = auditLogger((l) => void (bytes += l.length));
  const start = process.cpuUsage();
  for (let i = 0; i < LINES; i++) impl.writeAudit(log, allowed);
  const used = process.cpuUsage(start);
  const ns = ((used.user + used.system) * 1e3) / LINES;
  if (bytes === 0) throw new Error("nothing written");
  return ns;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const beforeLines = linesOf(before);
const afterLines = linesOf(after);
const identical = beforeLines.length === afterLines.length && beforeLines.every((l, i) => l === afterLines[i]);
const samples = { before: [] as number[], after: [] as number[] };
for (let rep = 0; rep < REPS + 1; rep++) {
  // The first round warms both up and is not counted; then the order alternates.
  const b = rep % 2 === 0 ? [nsPerLine(before), nsPerLine(after)] : [nsPerLine(after), nsPerLine(before)].reverse();
  if (rep === 0) continue;
  samples.before.push(b[0] as number);
  samples.after.push(b[1] as number);
}
const [mb, ma] = [median(samples.before), median(samples.after)];
console.log(`audit line, ${LINES} per block, ${REPS} interleaved blocks, median CPU time per line`);
console.log(`  pino, object per line (${baseline.ref} ${baseline.sha.slice(0, 7)})   ${(mb / 1000).toFixed(2)} µs`);
console.log(`  fixed-shape writer (this tree)        ${(ma / 1000).toFixed(2)} µs   ${(ma / mb).toFixed(2)}× of pino`);
console.log(`  lines byte-identical for ${records.length} records (time masked): ${identical ? "yes" : "NO"}`);
if (!identical) {
  for (let i = 0; i < records.length; i++)
    if (beforeLines[i] !== afterLines[i]) console.log(`  before: ${beforeLines[i]}  after:  ${afterLines[i]}`);
}
