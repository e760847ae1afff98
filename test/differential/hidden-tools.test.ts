// A hidden tool cannot be told from a missing one, on every real server stack: through the sidecar, a
// call of the hidden tool and a call of a tool the server does not have get the same JSON (apart from
// the id and the name), and that JSON is what the server itself answers for a tool it does not have.
// The sidecar learns it by calling, in its own session, a tool that cannot exist; the upstream's
// record shows that nothing ran (the differential stacks record every execution; the Kestra test
// server records every call that reached FastMCP, with its result or error).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { messagesOf, rawInitialize, rawPost, toolCall as rawToolCall } from "../support/raw-mcp.ts";
import { startKestraFastMcp, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";
import { messagesIn } from "./raw-http.ts";
import { PROTOCOL, startStack, toolCall, type Stack, type StackName } from "./stack.ts";
import { TOOLS } from "./stacks/catalogue.ts";

const HIDDEN = TOOLS.hidden; // force_run_execution, on every stack and on Kestra
const MISSING = "no_such_tool_anywhere";
const ARGS = { execution_id: "e-1" };

/** The message with its id removed and the tool's name replaced by a marker. */
function shape(message: unknown, tool: string): unknown {
  const { id: _id, ...rest } = message as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest).replaceAll(tool, "<tool>")) as unknown;
}

const LEARNT = (line: Record<string, unknown>) =>
  typeof line.msg === "string" && line.msg.startsWith("learnt how the upstream answers a missing tool");

const SERVERS: readonly (StackName | "kestra-fastmcp3")[] = ["ts-express", "python-sdk", "fastmcp3", "kestra-fastmcp3"];

for (const server of SERVERS) {
  describe(`hidden and missing tools answer alike behind ${server}`, () => {
    let stack: Stack;
    let kestra: KestraFastMcp | undefined;
    before(async () => {
      if (server === "kestra-fastmcp3") {
        kestra = await startKestraFastMcp();
        const given = kestra;
        stack = await startStack({ label: server, url: given.url, stop: () => given.stop() });
      } else {
        stack = await startStack(server);
      }
      await stack.sidecar.waitForLog(LEARNT, "the sidecar learning how the upstream answers a missing tool", 30_000);
    });
    after(() => stack.stop());

    it("answers a hidden tool as the server answers a tool it does not have, and ran nothing to learn it", async (t) => {
      const c = stack.begin();
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const [hidden] = messagesIn(await c.post(caller, session, toolCall(11, HIDDEN, ARGS)));
      const [missing] = messagesIn(await c.post(caller, session, toolCall(12, MISSING, ARGS)));
      // The server's own answer, asked directly (no sidecar).
      const direct = await rawInitialize(stack.upstreamUrl, {}, PROTOCOL);
      const [own] = messagesOf(
        await rawPost(stack.upstreamUrl, rawToolCall(13, MISSING, ARGS), {
          "mcp-session-id": direct,
          "mcp-protocol-version": PROTOCOL,
        }),
      );
      t.diagnostic(`${server} answers a missing tool with ${JSON.stringify(shape(own, MISSING))}`);

      assert.equal((hidden as { id?: unknown }).id, 11);
      assert.deepEqual(
        shape(hidden, HIDDEN),
        shape(missing, MISSING),
        "hidden and missing are indistinguishable through the sidecar",
      );
      assert.deepEqual(shape(missing, MISSING), shape(own, MISSING), "and both are the server's own answer");

      assert.deepEqual(await c.judge(), []);
      assert.deepEqual(stack.executions(), [], "nothing ran on the server: not the hidden tool, not the probe");
      if (kestra) {
        const reached = (await kestra.calls()).map((c) => [c.tool, c.error, c.result]);
        assert.deepEqual(
          reached,
          [[MISSING, `Unknown tool: '${MISSING}'`, undefined]],
          "only the direct call (no sidecar) reached FastMCP",
        );
        const probes = await kestra.probes();
        assert.ok(probes.length >= 1);
        for (const probe of probes) {
          assert.match(
            probe.error ?? "",
            /^Unknown tool: 'mcp-warden-absent-[0-9a-f]{32}'$/,
            "FastMCP refused the probe",
          );
          assert.equal(probe.result, undefined, "and ran nothing");
          assert.equal(probe.authorization, null, "the sidecar's own session carries no agent's credentials");
        }
      }
    });
  });
}
