// A limited tool on an upstream that answers with one JSON body once the tool is done: when the tool
// runs longer than --upstream-headers-timeout, the sidecar gives up waiting (504) while the tool runs
// on to its end. Giving up is not the upstream failing the call: the call must keep its rate-limit
// reservation, or a caller buys unlimited runs of any tool it can make slow. Judged by what the
// upstream executed, on every stack.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mcpHeaders, startStack, STACKS, toolCall, type Stack } from "./stack.ts";
import { LIMIT_MAX, TOOLS } from "./stacks/catalogue.ts";

/** Much shorter than the limited tool's run (undici checks the headers timeout about once a second). */
const HEADERS_TIMEOUT = "40ms";
const ACTION_WAIT_MS = 2_500;
const CALLS = LIMIT_MAX + 2;

for (const name of STACKS) {
  describe(`differential: ${name}, answers slower than the upstream headers timeout`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(name, {
        sidecarArgs: ["--upstream-headers-timeout", HEADERS_TIMEOUT],
        jsonResponse: true,
        actionWaitMs: ACTION_WAIT_MS,
      });
    });
    after(async () => {
      await stack?.stop();
    });

    test(
      `a limited call the sidecar stopped waiting for is not refunded (at most ${LIMIT_MAX} runs)`,
      { timeout: 90_000 },
      async () => {
        const c = stack.begin();
        const caller = stack.caller();
        const session = await c.initialize(caller);
        for (let i = 0; i < CALLS; i++) {
          await c.post(
            caller,
            session,
            toolCall(700 + i, TOOLS.limited, { execution_id: `slow-${i}` }),
            mcpHeaders(caller, session),
            3000,
          );
          // The run the sidecar stopped waiting for ends before the next call.
          await new Promise((r) => setTimeout(r, ACTION_WAIT_MS));
        }
        assert.deepEqual(await c.judge(), [], "the upstream ran what the sidecar did not decide");
      },
    );
  });
}
