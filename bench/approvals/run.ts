// What binding a call to an approval costs the sidecar: the RFC 8785 digest of its arguments and the
// redacted preview, for Kestra-shaped arguments of three sizes, next to the plain JSON.stringify +
// SHA-256 of the same arguments (what hashing the bytes would cost). Both are paid only by calls of
// approve rules, once per call. Prints figures; never passes or fails on time.
// Run: npm run bench:approvals (BENCH_SAMPLES to change the sample count)
import { createHash } from "node:crypto";
import { argumentsDigest } from "../../policy/approval/binding.ts";
import { argumentsPreview } from "../../policy/approval/preview.ts";
import { formatRow, measure } from "../policy/measure.ts";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20_000);

const flowYaml = [
  "id: nightly-billing",
  "namespace: company.finance",
  "tasks:",
  ...Array.from(
    { length: 60 },
    (_, i) =>
      `  - id: step_${i}\n    type: io.kestra.plugin.scripts.shell.Commands\n    commands: ["./run.sh --part ${i}"]`,
  ),
  "  - id: db\n    type: io.kestra.plugin.jdbc.postgresql.Query\n    url: jdbc:postgresql://db:5432/billing\n    password: \"{{ secret('DB_PASSWORD') }}\"",
].join("\n");

const cases: Array<[string, Record<string, unknown>]> = [
  [
    "resume_execution (3 keys)",
    { namespace: "company.team", flow_id: "nightly", execution_ids: ["4Zf3kX9q2LmN8pQr7sTu1v"] },
  ],
  [`create_flow_from_yaml (${(flowYaml.length / 1024).toFixed(1)} KiB YAML)`, { yaml_definition: flowYaml }],
  [
    "execute_flow (40 inputs, 200 labels)",
    {
      namespace: "company.team",
      flow_id: "etl",
      inputs: Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [
          `input_${i}`,
          i % 3 === 0 ? { nested: { value: i, list: [1, 2, 3] } } : `value-${i}-${"x".repeat(40)}`,
        ]),
      ),
      labels: Array.from({ length: 200 }, (_, i) => ({ key: `team-${i}`, value: `v${i}` })),
      wait: false,
    },
  ],
];

const rawDigest = (args: unknown) => createHash("sha256").update(JSON.stringify(args)).digest("hex");

console.log(`approval binding cost, ${SAMPLES} samples each (Node ${process.version})`);
console.log(formatRow(["case", "ops/s", "p50 µs", "p99 µs"]));
for (const [name, args] of cases) {
  console.log(`${name}, ${Buffer.byteLength(JSON.stringify(args))} bytes of JSON`);
  const raw = measure("  JSON.stringify + SHA-256 (baseline)", SAMPLES, () => rawDigest(args));
  const digest = measure("  argumentsDigest (RFC 8785 + SHA-256)", SAMPLES, () => argumentsDigest(args));
  const preview = measure("  argumentsPreview (redacted, ≤ 2 KiB)", SAMPLES, () => argumentsPreview(args));
  for (const m of [raw, digest, preview])
    console.log(formatRow([m.name, m.perSecond.toFixed(0), (m.p50 / 1000).toFixed(1), (m.p99 / 1000).toFixed(1)]));
  console.log(
    `  digest / baseline p50 ×${(digest.p50 / raw.p50).toFixed(2)}; preview / baseline p50 ×${(preview.p50 / raw.p50).toFixed(2)}; preview ${Buffer.byteLength(argumentsPreview(args))} bytes`,
  );
}
