// Worst-case JSON Schema validation of one argument, before and after the safe configuration
// (policy/json-schema.ts), side by side in one run: "before" is the Ajv set-up main had (ajv-formats
// in full mode on V8's backtracking regexes, patterns searched with RE2, uniqueItems on anything),
// "after" is createSafeAjv(). Each figure is the median of BENCH_REPS runs (default 5) of one
// validation. Prints figures; never passes or fails on time.
// Run: node bench/policy/worst-case-validation.ts
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsPlugin from "ajv-formats";
import { RE2JS } from "@bufbuild/re2";
import { createSafeAjv, schemaProblems } from "../../policy/json-schema.ts";
import { fieldPath } from "../../policy/paths.ts";

const REPS = Number(process.env.BENCH_REPS ?? 5);
/** "before" runs longer than this are measured once (the 96 KB url takes seconds each). */
const SLOW_MS = 1_000;

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => void;

function mainAjv(): Ajv2020 {
  const regExp = Object.assign((pattern: string) => RE2JS.compile(pattern), { code: "re2" });
  const ajv = new Ajv2020({ strict: true, allErrors: false, code: { regExp } });
  addFormats(ajv);
  return ajv;
}

interface Case {
  name: string;
  schema: Record<string, unknown>;
  input: unknown;
  size: string;
}

const colons = (n: number) => "http://" + ":".repeat(n);
const CASES: Case[] = [
  ...[8_000, 32_000, 96_000].map((n) => ({
    name: "format url, 'http://' + ':'×n",
    schema: { type: "string", format: "url" },
    input: colons(n),
    size: `${n / 1000} K`,
  })),
  ...[8_000, 96_000].map((n) => ({
    name: "format url, 'http://a' + '@:'×n",
    schema: { type: "string", format: "url" },
    input: "http://a" + "@:".repeat(n / 2),
    size: `${n / 1000} K`,
  })),
  {
    name: "format uri, 'a:' + '/a'×n",
    schema: { type: "string", format: "uri" },
    input: "a:" + "/a".repeat(4_000) + " ",
    size: "8 K",
  },
  {
    name: "format email, 'a@' + 'a.'×n + '-'",
    schema: { type: "string", format: "email" },
    input: "a@" + "a.".repeat(4_000) + "-",
    size: "8 K",
  },
  {
    name: "format hostname, 'a-'×n + '!'",
    schema: { type: "string", format: "hostname" },
    input: "a-".repeat(4_000) + "!",
    size: "8 K",
  },
  {
    name: "format date-time, long fraction",
    schema: { type: "string", format: "date-time" },
    input: "2024-01-01T00:00:00." + "1".repeat(8_000) + "Q",
    size: "8 K",
  },
  {
    name: "pattern ^([a-z]+)+$, 'a'×n + '!'",
    schema: { type: "string", pattern: "^([a-z]+)+$" },
    input: "a".repeat(60_000) + "!",
    size: "60 K",
  },
  {
    name: "pattern ^[a-z0-9.-]+$, 'a'×n",
    schema: { type: "string", pattern: "^[a-z0-9.-]+$" },
    input: "a".repeat(60_000),
    size: "60 K",
  },
  ...[2_000, 8_000].map((n) => ({
    name: "uniqueItems, no items type, n distinct objects",
    schema: { type: "array", uniqueItems: true },
    input: Array.from({ length: n }, (_, i) => ({ i })),
    size: `${n / 1000} K items`,
  })),
  {
    name: "uniqueItems, items string, n distinct",
    schema: { type: "array", uniqueItems: true, items: { type: "string" } },
    input: Array.from({ length: 12_000 }, (_, i) => `t${i}`),
    size: "12 K items",
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

function time(validate: (data: unknown) => unknown, input: unknown): { ms: number; runs: number } {
  validate(input); // compiles lazily built state (RE2 DFA, JIT) before timing
  const first = performance.now();
  validate(input);
  const firstMs = performance.now() - first;
  if (firstMs > SLOW_MS) return { ms: firstMs, runs: 1 };
  const samples = [firstMs];
  for (let i = 1; i < REPS; i++) {
    const started = performance.now();
    validate(input);
    samples.push(performance.now() - started);
  }
  return { ms: median(samples), runs: samples.length };
}

const format = (ms: number) =>
  ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(0)} µs`;
const row = (cells: string[]) =>
  cells.map((c, i) => (i < 2 ? c.padEnd([50, 12][i] as number) : c.padStart(i === 2 ? 20 : 44))).join("");

const before = mainAjv();
const after = createSafeAjv();
console.log(row(["case", "input", "before (main)", "after (safe Ajv)"]));
for (const c of CASES) {
  const old = time(before.compile(c.schema), c.input);
  const problems = schemaProblems(c.schema, ["arguments"]);
  const now =
    problems.length > 0
      ? `refused at load (${fieldPath(problems[0]?.path ?? [])})`
      : format(time(after.compile(c.schema), c.input).ms);
  console.log(row([c.name, c.size, `${format(old.ms)}${old.runs === 1 ? " (1 run)" : ""}`, now]));
}
