// The differential property at bench scale: `npm run fuzz:differential -- --cases 5000 [--seed N]
// [--stacks ts-express,python-sdk,fastmcp3]`. The same mutations and judge as the short run in
// test/differential/differential.test.ts, against the three real upstream stacks behind the recording
// tap; prints the cases run and the bypasses found per stack, and exits 1 when any stack had one.
import { parseArgs } from "node:util";
import { runProperty } from "../../test/differential/property.ts";
import { startStack, STACKS, type StackName } from "../../test/differential/stack.ts";

const { values } = parseArgs({
  options: { cases: { type: "string", default: "2000" }, seed: { type: "string" }, stacks: { type: "string" } },
});
const cases = Number(values.cases);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const stacks = values.stacks === undefined ? STACKS : (values.stacks.split(",") as StackName[]);
/** A caller's limit budget is per minute; 64 callers at 40 cases a batch keep budgets apart for runs of ~2,500 cases a minute. */
const CASES_PER_BATCH = 40;

let bypasses = 0;
const rows: string[] = [];
for (const name of stacks) {
  const stack = await startStack(name);
  const started = Date.now();
  try {
    const run = await runProperty(stack, {
      cases,
      seed,
      casesPerBatch: CASES_PER_BATCH,
      keep: 3,
      onProgress: (done, found) => {
        if (done % 500 === 0)
          process.stderr.write(
            `${name}: ${done} cases, ${found} bypasses, ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
          );
      },
    });
    bypasses += run.bypassCount + run.unattributed.length;
    rows.push(
      `${name}: ${run.cases} cases, ${run.bypassCount} bypassing cases, ${run.unattributed.length} unattributed violations, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    for (const b of run.bypasses)
      process.stdout.write(`${name} bypass: ${JSON.stringify(b.mutation)}\n  ${b.violations.join("\n  ")}\n`);
    for (const v of run.unattributed.slice(0, 5)) process.stdout.write(`${name} unattributed: ${v}\n`);
    if (run.bypassCount + run.unattributed.length > 0) stack.keepFiles();
  } finally {
    await stack.stop();
  }
}
process.stdout.write(
  `\nseed ${seed}\n${rows.join("\n")}\n${bypasses === 0 ? "no bypasses" : `${bypasses} bypasses`}\n`,
);
if (bypasses > 0) process.exitCode = 1;
