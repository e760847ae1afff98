// The HTTP fuzzer at bench scale: `npm run fuzz:sidecar -- --cases 1000000 [--seed N]`. Same generators
// and checks as test/reliability/fuzz.test.ts (which runs 100,000 requests in `npm test`); prints
// progress and the figures of the run, and exits 1 with the failing requests if anything breaks.
import { parseArgs } from "node:util";
import { runFuzz } from "../../test/support/fuzz/runner.ts";

const { values } = parseArgs({ options: { cases: { type: "string", default: "1000000" }, seed: { type: "string" } } });
const cases = Number(values.cases);
const seed = values.seed === undefined ? undefined : Number(values.seed);
try {
  const report = await runFuzz({
    cases,
    seed,
    progressEvery: 50_000,
    onProgress: (r) =>
      process.stderr.write(
        `${r.requests.toLocaleString("en-US")} requests, ${r.seconds.toFixed(0)} s (${Math.round(r.requests / r.seconds)}/s)\n`,
      ),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `\n${report.requests.toLocaleString("en-US")} requests (${report.messages.toLocaleString("en-US")} JSON-RPC messages) with seed ${report.seed} in ${report.seconds.toFixed(0)} s: no 5xx, no crash, nothing forbidden reached the upstream.\n`,
  );
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
}
