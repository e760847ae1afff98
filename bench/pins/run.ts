// `npm run bench:pins`: what pinning costs per tools/list the sidecar sees, for the Kestra server's
// 39 tools and a 1,000-tool list: digesting every definition (RFC 8785 canonical JSON + SHA-256), and
// what the sidecar does with a page (digests into the live view, the drift check of every tool
// against the pins, the hide filter of the answer). Medians of repeated listings, side by side.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { definitionDigest } from "../../policy/pins/definition-digest.ts";
import { compilePolicy } from "../../policy/compile.ts";
import { loadPolicySpec } from "../../policy/load.ts";
import { LiveDefinitions } from "../../sidecar/pins/live-definitions.ts";
import { pinsHideTest } from "../../sidecar/pins/pin-check.ts";

const fixture = JSON.parse(
  readFileSync(new URL("../../test/fixtures/kestra-tools-list.json", import.meta.url), "utf8"),
) as { tools: Record<string, unknown>[] };
const kestra = fixture.tools;
/** 1,000 tools: the Kestra definitions again and again, each with a name and description of its own. */
const thousand = Array.from({ length: 1000 }, (_, i) => {
  const base = kestra[i % kestra.length] as Record<string, unknown>;
  return { ...base, name: `${String(base.name)}_${i}`, description: `${String(base.description)} (copy ${i})` };
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function timed(runs: number, fn: () => void): number {
  for (let i = 0; i < Math.min(20, runs); i++) fn(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

function policyPinning(tools: Record<string, unknown>[]) {
  const pins = Object.fromEntries(tools.map((t) => [String(t.name), definitionDigest(t)]));
  return compilePolicy(
    loadPolicySpec(
      { default: "allow", pins: { mode: "Enforce", onDrift: "hide", newTools: "hide", tools: pins } },
      "bench/pins",
    ),
  );
}

interface Row {
  list: string;
  tools: number;
  digestMs: number;
  sidecarMs: number;
}

const rows: Row[] = [];
for (const [list, tools, runs] of [
  ["kestra", kestra, 400],
  ["synthetic", thousand, 40],
] as const) {
  const policy = policyPinning(tools);
  const digestMs = timed(runs, () => {
    for (const tool of tools) definitionDigest(tool);
  });
  const sidecarMs = timed(runs, () => {
    // A fresh view each time, so every definition is digested and judged, as on a first listing.
    const live = new LiveDefinitions();
    live.observe(tools, true);
    const hidden = pinsHideTest(policy, live);
    if (!hidden) throw new Error("the bench policy hides drifted tools");
    const kept = tools.filter((t) => !hidden(String(t.name)));
    if (kept.length !== tools.length) throw new Error("every tool matches its pin");
  });
  rows.push({ list, tools: tools.length, digestMs, sidecarMs });
}

const bytes = (tools: unknown[]) => Buffer.byteLength(JSON.stringify({ tools }));
process.stdout.write(`tools/list digesting, median per listing (node ${process.version})\n\n`);
process.stdout.write(
  `${"list".padEnd(12)}${"tools".padStart(7)}${"JSON bytes".padStart(12)}${"digests only".padStart(16)}${"per tool".padStart(12)}${"sidecar page".padStart(16)}${"per tool".padStart(12)}\n`,
);
for (const r of rows) {
  const size = bytes(r.list === "kestra" ? kestra : thousand);
  process.stdout.write(
    `${r.list.padEnd(12)}${String(r.tools).padStart(7)}${size.toLocaleString("en").padStart(12)}${`${r.digestMs.toFixed(3)} ms`.padStart(16)}${`${((r.digestMs * 1000) / r.tools).toFixed(1)} µs`.padStart(12)}` +
      `${`${r.sidecarMs.toFixed(3)} ms`.padStart(16)}${`${((r.sidecarMs * 1000) / r.tools).toFixed(1)} µs`.padStart(12)}\n`,
  );
}
process.stdout.write(
  "\nsidecar page: digests into the live view, pins checked for every tool, the answer's hide filter.\n",
);
