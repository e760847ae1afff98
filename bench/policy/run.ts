// Policy engine benchmark: cost of one decision for policies of 10, 1,000 and 10,000 tools, with names
// only and with CEL + JSON Schema rules, plus the in-memory rate-limit store. Prints figures; never
// passes or fails on time. Run: npm run bench:policy
import { compilePolicy, type CompiledPolicy } from "../../policy/compile.ts";
import { decideToolCall, evaluateToolCall } from "../../policy/decide.ts";
import type { ToolCall } from "../../policy/decision.ts";
import { createDeclaredSchemaCompiler, type DeclaredInputSchemas } from "../../policy/input-schemas.ts";
import { loadPolicyObject } from "../../policy/load.ts";
import { recommendKestraPolicy } from "../../policy/catalog/recommend.ts";
import { kestraCalls, KESTRA_FIXTURE } from "../../policy/catalog/testing.ts";
import { SlidingWindowMemoryStore } from "../../policy/ratelimit/memory-store.ts";
import { formatRow, measure, type Measurement } from "./measure.ts";

const SIZES = [10, 1_000, 10_000];
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200_000);

function policyOf(tools: number, withRules: boolean): CompiledPolicy {
  const rules = Array.from({ length: tools }, (_, i) => ({
    name: `tool_${i}`,
    ...(withRules
      ? {
          require: ["args.namespace.startsWith('dev.')"],
          denyIf: ["has(args.action) && args.action == 'delete'"],
          arguments: {
            type: "object",
            required: ["namespace"],
            properties: {
              namespace: { type: "string", maxLength: 256 },
              action: { enum: ["get", "list", "delete"] },
              flow_id: { type: "string" },
            },
          },
        }
      : {}),
  }));
  const started = performance.now();
  const policy = compilePolicy(
    loadPolicyObject(
      {
        apiVersion: "mcpwarden.io/v1alpha1",
        kind: "McpPolicy",
        metadata: { name: "bench" },
        spec: { default: "deny", tools: rules },
      },
      "bench",
    ),
  );
  compileTimes.push([`${tools} tools${withRules ? " + CEL + schema" : ""}`, performance.now() - started]);
  return policy;
}

const compileTimes: [string, number][] = [];
const caller = { grant: "agent-1", sub: "agent-1", groups: ["agents"], claims: {} };

function calls(tools: number): ToolCall[] {
  // A spread of known tools (allowed, rules evaluated in full) and unknown ones (default deny).
  return Array.from({ length: 1024 }, (_, i) => ({
    tool: i % 10 === 9 ? `unknown_${i}` : `tool_${(i * 7919) % tools}`,
    args: { namespace: "dev.team-a", action: "get", flow_id: `flow-${i}` },
    caller,
  }));
}

const rows: Measurement[] = [];
for (const withRules of [false, true]) {
  for (const size of SIZES) {
    const policy = policyOf(size, withRules);
    const batch = calls(size);
    let i = 0;
    rows.push(
      measure(`decide, ${size} tools, ${withRules ? "CEL + JSON Schema" : "names only"}`, SAMPLES, () => {
        evaluateToolCall(policy, batch[i++ & 1023] as ToolCall);
      }),
    );
  }
}

// The generated Kestra policy (balanced, arguments: strict) over one call per tool and action: with the
// server's declared schemas (as the sidecar decides), and without (the policy's own rules only).
{
  const policy = compilePolicy(loadPolicyObject(recommendKestraPolicy("balanced").resource, "kestra"));
  const compile = createDeclaredSchemaCompiler();
  const started = performance.now();
  const schemas = new Map(KESTRA_FIXTURE.map((t) => [t.name, compile(t.inputSchema, JSON.stringify(t.inputSchema))]));
  compileTimes.push(["39 declared Kestra inputSchemas", performance.now() - started]);
  const declared: DeclaredInputSchemas = { lookup: (tool) => schemas.get(tool) };
  const batch = kestraCalls().map(({ tool, args }): ToolCall => ({ tool, args, caller }));
  for (const strict of [false, true]) {
    let i = 0;
    rows.push(
      measure(`decide, Kestra balanced, ${strict ? "strict + rules" : "rules only"}`, SAMPLES, () => {
        evaluateToolCall(policy, batch[i++ % batch.length] as ToolCall, strict ? declared : undefined);
      }),
    );
  }
}

// The in-memory store: one check per call across 1,000 grants, the clock advancing 1 ms per check.
{
  let now = 0;
  const store = new SlidingWindowMemoryStore({ now: () => now });
  const checks = Array.from({ length: 1_000 }, (_, g) => [
    { key: `calls|grant|agent-${g}`, windowMs: 60_000, max: 1_000 },
  ]);
  let i = 0;
  rows.push(
    measure("memory store consume (1,000 grants)", SAMPLES * 5, () => {
      now++;
      store.consume(checks[i++ % 1_000] as never);
    }),
  );
}

// The whole decision with a rate limit, as the sidecar runs it (async).
{
  const policy = compilePolicy(
    loadPolicyObject(
      {
        apiVersion: "mcpwarden.io/v1alpha1",
        kind: "McpPolicy",
        metadata: { name: "bench" },
        spec: { tools: [{ name: "resume_execution", limits: [{ counter: "r", window: "minute", max: 1_000_000 }] }] },
      },
      "bench",
    ),
  );
  const store = new SlidingWindowMemoryStore();
  const c: ToolCall = { tool: "resume_execution", args: {}, caller };
  const samples: number[] = [];
  const n = 100_000;
  const start = process.hrtime.bigint();
  for (let k = 0; k < n; k++) {
    const t0 = process.hrtime.bigint();
    await decideToolCall(policy, c, store);
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  const elapsed = Number(process.hrtime.bigint() - start);
  samples.sort((a, b) => a - b);
  rows.push({
    name: "decideToolCall + limit (memory store, async)",
    perSecond: (n / elapsed) * 1e9,
    p50: samples[n >> 1] as number,
    p99: samples[Math.floor(n * 0.99)] as number,
  });
}

process.stdout.write(`Policy engine benchmark (node ${process.version}, ${SAMPLES} samples per row)\n\n`);
process.stdout.write(formatRow(["case", "decisions/s", "p50", "p99"]) + "\n");
for (const r of rows)
  process.stdout.write(
    formatRow([
      r.name,
      Math.round(r.perSecond).toLocaleString("en-US"),
      `${(r.p50 / 1000).toFixed(2)} µs`,
      `${(r.p99 / 1000).toFixed(2)} µs`,
    ]) + "\n",
  );
const flat = (label: string) => {
  const group = rows.filter((r) => r.name.endsWith(label));
  const p50s = group.map((r) => r.p50);
  return `${label}: p50 10,000 tools / 10 tools = ${((p50s.at(-1) as number) / (p50s[0] as number)).toFixed(2)}`;
};
process.stdout.write(`\nFlatness (ratio of medians): ${flat("names only")}; ${flat("CEL + JSON Schema")}\n`);
process.stdout.write(`\nCompile time per policy version:\n`);
for (const [name, ms] of compileTimes) process.stdout.write(`  ${name.padEnd(32)} ${ms.toFixed(1)} ms\n`);
