// `npm run bench:results`: what result rules add to the sidecar's answer path. A Kestra-like tool
// answer (list_executions: text content plus structuredContent, with an AWS key and an e-mail address
// in it) of about 1 KB, 64 KB and 1 MB goes through the AnswerInspector as an SSE event's data, once
// for a call without result rules (the fast path of ADR 0118: a validating scan and the id spliced
// in) and once for a call whose rules redact with every built-in detector (parse, one scan of every
// string, redaction, serialisation). Medians of wall time and of CPU time (user + system) per answer,
// side by side; figures only, never pass or fail.
import { performance } from "node:perf_hooks";
import { pino } from "pino";
import { compilePolicy } from "../../policy/compile.ts";
import { parsePolicyText } from "../../policy/load.ts";
import { inspectResult } from "../../policy/results/inspect.ts";
import { KnownTools } from "../../sidecar/enforcement/tool-names.ts";
import { AnswerInspector, type ForwardedRequest } from "../../sidecar/proxy/answer-inspector.ts";
import type { ResultGuard } from "../../sidecar/proxy/result-guard.ts";
import { execution } from "../../test/upstreams/kestra-results.ts";

const POLICY = compilePolicy(
  parsePolicyText(
    `apiVersion: mcpwarden.io/v1alpha1
kind: McpPolicy
metadata: {name: kestra, namespace: agents}
spec:
  default: allow
  tools:
    - name: list_executions
      results: {redact: [all]}
`,
    "bench",
  ),
);
const PLAN = POLICY.planFor("list_executions").results;
if (!PLAN) throw new Error("no result rules");

/** A list_executions answer of about `bytes`, as FastMCP sends it (the dict as JSON text and as structuredContent). */
function answerText(bytes: number): string {
  const results: Record<string, unknown>[] = [];
  const size = () => 2 * JSON.stringify(results).length;
  for (let i = 0; size() < bytes; i++) results.push(execution("company.team", i));
  const first = results[0] as Record<string, unknown>;
  first.labels = [
    { key: "owner", value: "data.team@example.com" },
    { key: "aws", value: "AKIAZ7Q3M5R2TY8WXK4P" },
  ];
  const structured = { results, total: results.length };
  return JSON.stringify({
    jsonrpc: "2.0",
    id: 7,
    result: {
      content: [{ type: "text", text: JSON.stringify(structured) }],
      structuredContent: structured,
      isError: false,
    },
  });
}

const log = pino({ level: "silent" });
const known = new KnownTools();

function guard(): ResultGuard {
  return {
    verdict: undefined,
    maxBytes: undefined,
    oversized: () => null,
    notification: (params) => params,
    inspect: (result, bytes) =>
      inspectResult(PLAN!, result, {
        policy: "agents/kestra",
        tool: "list_executions",
        args: {},
        caller: { grant: "bench", sub: "bench", groups: [], claims: {} },
        bytes,
      }).result,
  };
}

/** One answer through a fresh inspector, as the relay does for each POST's answer. */
function translate(text: string, rules: boolean): string | undefined | null {
  const forwarded = new Map<number, ForwardedRequest>([
    [
      7,
      {
        clientId: 1,
        method: "tools/call",
        call: { complete: () => undefined, ...(rules ? { results: guard() } : {}) },
      },
    ],
  ]);
  return new AnswerInspector({ forwarded, hidden: undefined, knownTools: known, status: 200, log }).translateText(text);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function measure(text: string, rules: boolean, reps: number): { wallMs: number; cpuMs: number } {
  for (let i = 0; i < Math.min(5, reps); i++) translate(text, rules); // warm up
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    translate(text, rules);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

const CASES: [string, number, number][] = [
  ["1 KB", 1024, 400],
  ["64 KB", 64 * 1024, 60],
  ["1 MB", 1024 * 1024, 9],
];
const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
const check = translate(answerText(1024), true) ?? "";
if (!check.includes("[REDACTED:aws-access-key-id]") || check.includes("AKIAZ7Q3M5R2TY8WXK4P"))
  throw new Error("the scan did not redact");

process.stdout.write(
  `result rules: redact [all] (${PLAN.scanner?.detectors.length ?? 0} detectors); medians per answer; load average ${(await import("node:os")).loadavg()[0]?.toFixed(1)}\n\n`,
);
process.stdout.write(
  `${"answer".padEnd(9)}${"bytes".padStart(9)}${"no scan".padStart(12)}${"scan".padStart(12)}${"added".padStart(12)}${"CPU no scan".padStart(14)}${"CPU scan".padStart(12)}  reps\n`,
);
for (const [name, bytes, reps] of CASES) {
  const text = answerText(bytes);
  const plain = measure(text, false, reps);
  const scanned = measure(text, true, reps);
  process.stdout.write(
    `${name.padEnd(9)}${String(Buffer.byteLength(text)).padStart(9)}${fmt(plain.wallMs).padStart(12)}${fmt(scanned.wallMs).padStart(12)}${fmt(scanned.wallMs - plain.wallMs).padStart(12)}` +
      `${fmt(plain.cpuMs).padStart(14)}${fmt(scanned.cpuMs).padStart(12)}  ${reps}\n`,
  );
}
