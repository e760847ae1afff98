import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decisionAnswer } from "../proxy/decision-answers.ts";
import { MissingToolAnswer, PROBE_PREFIX, probeName, shapeOf } from "./missing-tool-answer.ts";
import { KnownTools } from "./tool-names.ts";

const probe = probeName();
const learnt = (answer: unknown) => {
  const shaped = shapeOf(answer, probe);
  assert.ok("shape" in shaped, JSON.stringify(shaped));
  const missing = new MissingToolAnswer();
  missing.learn(shaped.shape);
  return missing;
};

describe("the answer for a missing tool, learnt from the upstream", () => {
  it("draws unguessable names within MCP's tool-name guidance", () => {
    assert.match(probe, /^mcp-warden-absent-[0-9a-f]{32}$/);
    assert.ok(probe.startsWith(PROBE_PREFIX));
    assert.notEqual(probeName(), probe);
  });

  it("imitates a tool result (FastMCP), the tool's name in place of the probe's", () => {
    const missing = learnt({
      jsonrpc: "2.0",
      id: 3,
      result: { content: [{ type: "text", text: `Unknown tool: '${probe}'` }], isError: true },
    });
    assert.deepEqual(missing.answer("a", "force_run_execution"), {
      jsonrpc: "2.0",
      id: "a",
      result: { content: [{ type: "text", text: "Unknown tool: 'force_run_execution'" }], isError: true },
    });
    assert.equal(
      (missing.answer(1, "x", true).result as { resultType?: string }).resultType,
      "complete",
      "2026-07-28 results say resultType",
    );
  });

  it("imitates a JSON-RPC error, data included", () => {
    const missing = learnt({
      jsonrpc: "2.0",
      id: 3,
      error: { code: -32601, message: `no tool ${probe}`, data: { tool: probe } },
    });
    assert.deepEqual(missing.answer(9, "secret"), {
      jsonrpc: "2.0",
      id: 9,
      error: { code: -32601, message: "no tool secret", data: { tool: "secret" } },
    });
  });

  it("falls back to -32602 until learnt, and imitates nothing that is not a refusal", () => {
    assert.deepEqual(new MissingToolAnswer().answer(1, "x"), {
      jsonrpc: "2.0",
      id: 1,
      error: { code: -32602, message: "Unknown tool: 'x'" },
    });
    assert.match(
      String((shapeOf({ jsonrpc: "2.0", id: 1, result: { content: [] } }, probe) as { problem: string }).problem),
      /without isError/,
    );
    assert.match(
      String(
        (
          shapeOf(
            { jsonrpc: "2.0", id: 1, result: { isError: true, content: [{ type: "text", text: "x".repeat(20_000) }] } },
            probe,
          ) as { problem: string }
        ).problem,
      ),
      /bytes/,
    );
    const escaped = probe.slice(0, 30);
    assert.match(
      String(
        (
          shapeOf(
            {
              jsonrpc: "2.0",
              id: 1,
              result: { isError: true, content: [{ type: "text", text: `Unknown tool ${escaped}…` }] },
            },
            probe,
          ) as { problem: string }
        ).problem,
      ),
      /form other than its name/,
    );
    assert.match(String((shapeOf({ jsonrpc: "2.0", id: 1 }, probe) as { problem: string }).problem), /neither/);
  });

  it("answers hidden tools, and denied names the catalogue does not have, alike; other denials stay denials", () => {
    const known = new KnownTools();
    const verdict = (reason: "hidden" | "default_deny" | "tool_denied" | "deny_if_matched") => ({
      decision: "denied" as const,
      reason,
      rule: "r",
      message: "m",
    });
    assert.match(
      JSON.stringify(decisionAnswer(1, "nope", verdict("default_deny"), false, known)),
      /POLICY DENIED/,
      "no catalogue yet: a denial",
    );
    known.replaceTools([{ name: "real" }]);
    known.missingTool.learn({
      kind: "result",
      template: { content: [{ type: "text", text: "Unknown tool: '\u0000tool\u0000'" }], isError: true },
    });
    const missingText = (tool: string, reason: Parameters<typeof verdict>[0]) =>
      JSON.stringify(decisionAnswer(1, tool, verdict(reason), false, known));
    assert.equal(
      missingText("hidden_one", "hidden"),
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        result: { content: [{ type: "text", text: "Unknown tool: 'hidden_one'" }], isError: true },
      }),
    );
    assert.equal(
      missingText("nope", "default_deny"),
      missingText("hidden_one", "hidden").replace("hidden_one", "nope"),
    );
    assert.equal(
      missingText("nope", "tool_denied"),
      missingText("nope", "default_deny"),
      "a deny glob matching a name the server does not have",
    );
    assert.match(missingText("real", "default_deny"), /POLICY DENIED/, "a tool the server has is denied as such");
    assert.match(missingText("nope", "deny_if_matched"), /POLICY DENIED/);
  });
});
