// The differential suite: every attack of ADR 117, and a short run of the fast-check property over
// mutated requests, run through a real sidecar process against three real upstream stacks (the
// TypeScript SDK's Express app, the Python SDK's FastMCP, FastMCP 3), each behind a raw recording tap,
// and judged by what the upstream executed: every execution allowed by the sidecar's audit with the
// same tool and arguments, no hidden tool in any answer, no limit beyond max. The long run of the
// property is `npm run fuzz:differential`.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ATTACKS } from "./attacks.ts";
import { runProperty } from "./property.ts";
import { messagesIn } from "./raw-http.ts";
import { startTestIssuer, type TestIssuer } from "../support/oidc-issuer.ts";
import { JWT_AUDIENCE } from "./policy.ts";
import { mcpHeaders, startStack, STACKS, type JwtIssuer, type Stack } from "./stack.ts";
import {
  startUninspectableServer,
  UNINSPECTABLE_MODES,
  type UninspectableServer,
} from "./stacks/uninspectable-server.ts";

/** Small, so one caller's initializes would evict others' sessions if eviction were not per grant. */
const SIDECAR_ARGS = ["--max-sessions", "8"];
/** The property's short run: at most this many cases, for at most this long, per stack. */
const PROPERTY_CASES = 120;
const PROPERTY_TIME_LIMIT_MS = 7_000;

// One OpenID issuer for every stack: its tokens are accepted beside the API keys (the identity case).
let issuer: TestIssuer | undefined;
const jwt: JwtIssuer = {
  get issuer() {
    return (issuer as TestIssuer).issuer;
  },
  token: (sub) => (issuer as TestIssuer).sign({ sub }, { audience: JWT_AUDIENCE }),
};
before(async () => {
  issuer = await startTestIssuer(JWT_AUDIENCE);
});
after(async () => {
  await issuer?.close();
});

for (const name of STACKS) {
  describe(`differential: ${name}`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(name, { sidecarArgs: SIDECAR_ARGS, jwt });
    });
    after(async () => {
      await stack?.stop();
    });

    for (const attack of ATTACKS) {
      test(attack.name, { timeout: 60_000 }, async () => {
        const c = stack.begin();
        const deviations = await attack.run(stack, c);
        assert.deepEqual(await c.judge(), [], "the upstream ran what the sidecar did not decide");
        assert.deepEqual(deviations, [], "the answers differ from the documented behaviour");
      });
    }

    test(
      "property: no mutated request makes the upstream run what the sidecar did not decide",
      { timeout: 60_000 },
      async () => {
        const seed = Number(process.env.DIFFERENTIAL_SEED ?? Date.now() % 2 ** 31);
        const run = await runProperty(stack, {
          cases: PROPERTY_CASES,
          seed,
          timeLimitMs: PROPERTY_TIME_LIMIT_MS,
          casesPerBatch: 40,
        });
        assert.ok(run.cases >= 10, `only ${run.cases} cases ran in ${PROPERTY_TIME_LIMIT_MS} ms`);
        if (run.bypassCount > 0 || run.unattributed.length > 0) stack.keepFiles();
        assert.deepEqual(
          run.bypasses,
          [],
          `${run.bypassCount} of ${run.cases} cases (seed ${seed}, DIFFERENTIAL_SEED replays it) bypassed the policy; first ${run.bypasses.length} shown; tap log in ${stack.dir}`,
        );
        assert.deepEqual(run.unattributed, [], `over the whole run (seed ${seed})`);
      },
    );
  });
}

describe("differential: an upstream tools/list answer the sidecar cannot inspect", { timeout: 60_000 }, () => {
  let double: UninspectableServer;
  let stack: Stack;
  before(async () => {
    double = await startUninspectableServer();
    stack = await startStack({ label: "uninspectable", url: double.url, stop: () => double.close() });
  });
  after(async () => {
    await stack?.stop();
  });

  for (const mode of UNINSPECTABLE_MODES) {
    test(`a ${mode} tools/list answer is an error to the client, never relayed with the hidden tool`, async () => {
      await double.setMode(mode);
      const c = stack.begin();
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const res = await c.post(caller, session, { jsonrpc: "2.0", id: 7, method: "tools/list" }, [
        ...mcpHeaders(caller, session),
        ["Accept-Encoding", "gzip, deflate, br"],
      ]);
      assert.deepEqual(await c.judge(), [], "the client got the hidden tool");
      const message = messagesIn(res).find((m) => m.id === 7);
      assert.ok(
        res.status >= 500 || message?.error !== undefined,
        `expected an error answer, got ${res.status} ${res.text.slice(0, 200)}`,
      );
    });
  }
});
