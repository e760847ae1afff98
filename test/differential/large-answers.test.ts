// A limited tool whose answer is larger than the sidecar inspects (--max-inspect-bytes): the tool ran,
// the sidecar cannot relay its answer. That is no upstream failure: the call must keep its rate-limit
// reservation, or a caller buys unlimited runs of any tool whose output it can make large. Judged by
// what the upstream executed, on every stack.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mcpHeaders, startStack, STACKS, toolCall, type Stack } from "./stack.ts";
import { LIMIT_MAX, TOOLS } from "./stacks/catalogue.ts";

/** The smallest inspection bound the sidecar takes, and an answer that arrives in several reads. */
const MAX_INSPECT_BYTES = 1024;
const ANSWER_PADDING = 256 * 1024;
const CALLS = LIMIT_MAX + 5;

for (const name of STACKS) {
  describe(`differential: ${name}, answers larger than the sidecar inspects`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(name, {
        sidecarArgs: ["--max-inspect-bytes", String(MAX_INSPECT_BYTES)],
        answerPadding: ANSWER_PADDING,
      });
    });
    after(async () => {
      await stack?.stop();
    });

    test(
      `a limited call whose answer is too large to inspect is not refunded (at most ${LIMIT_MAX} runs)`,
      { timeout: 60_000 },
      async () => {
        const c = stack.begin();
        const caller = stack.caller();
        const session = await c.initialize(caller);
        const answers = [];
        for (let i = 0; i < CALLS; i++)
          answers.push(
            await c.post(
              caller,
              session,
              toolCall(600 + i, TOOLS.limited, { execution_id: `big-${i}` }),
              mcpHeaders(caller, session),
              3000,
            ),
          );
        assert.ok(
          !answers[0]?.text.includes(" ".repeat(ANSWER_PADDING)),
          "the oversized answer was relayed uninspected",
        );
        assert.deepEqual(await c.judge(), [], "the upstream ran what the sidecar did not decide");
      },
    );
  });
}
