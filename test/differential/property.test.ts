// The differential property, short run: mutated requests (encodings, ids and id types, headers,
// targets, batches, duplicate keys, Unicode look-alikes) through a real sidecar against each of the
// three upstream stacks, every case judged on what the upstream executed. The long run is
// `npm run fuzz:differential`.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runProperty } from "./property.ts";
import { startStack, STACKS, type Stack } from "./stack.ts";

const CASES = 80;
/** Per stack: the short run stays within about 25 s for the three stacks. */
const TIME_LIMIT_MS = 6_000;

for (const name of STACKS) {
  describe(`differential property: ${name}`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(name);
    });
    after(async () => {
      await stack?.stop();
    });

    test("no mutated request makes the upstream run what the sidecar did not decide", { timeout: 60_000 }, async () => {
      const run = await runProperty(stack, { cases: CASES, seed: Number(process.env.DIFFERENTIAL_SEED ?? 12), timeLimitMs: TIME_LIMIT_MS, casesPerBatch: 40 });
      assert.ok(run.cases >= 10, `only ${run.cases} cases ran in ${TIME_LIMIT_MS} ms`);
      assert.deepEqual(run.bypasses, [], `${run.bypassCount} of ${run.cases} cases bypassed the policy (first ${run.bypasses.length} shown); tap log in ${stack.dir}`);
      assert.deepEqual(run.unattributed, [], "over the whole run");
    });
  });
}
