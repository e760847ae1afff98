import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { definitionDigest } from "../policy/pins/definition-digest.ts";
import { flagTool, startToolListServer, type ToolListServer } from "../test/upstreams/tool-list-server.ts";
import { runCli, tempFile } from "./testing.ts";

describe("mcp-warden policy pin", () => {
  let server: ToolListServer;
  const tools = [
    { ...flagTool("b_tool"), description: "B" },
    { ...flagTool("a_tool"), description: "A" },
  ];
  before(async () => {
    server = await startToolListServer({ tools, pageSize: 1 });
  });
  after(() => server.close());

  it("prints the spec.pins block of every page's tools without --policy", async () => {
    const run = await runCli("policy", "pin", "--url", server.url);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(parse(run.stdout), {
      pins: { mode: "Enforce", tools: { a_tool: definitionDigest(tools[1]), b_tool: definitionDigest(tools[0]) } },
    });
    assert.match(run.stderr, /^new tool b_tool: pinned sha256:[0-9a-f]{64}\nnew tool a_tool: pinned/);
  });

  it("updates only the tools named with --tool and keeps the rest of the file", async () => {
    const file = await tempFile(
      "p.yaml",
      'apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: p, namespace: agents}\nspec:\n  default: allow # keep me\n  pins:\n    mode: Audit\n    tools: {gone: "sha256:' +
        "0".repeat(64) +
        '"}\n',
    );
    const run = await runCli("policy", "pin", "--url", server.url, "--policy", file, "--tool", "a_tool");
    assert.equal(run.code, 0, run.stderr);
    const { readFile } = await import("node:fs/promises");
    const text = await readFile(file, "utf8");
    assert.match(text, /default: allow # keep me/);
    const spec = (parse(text) as { spec: { pins: { mode: string; tools: Record<string, string> } } }).spec;
    assert.equal(spec.pins.mode, "Audit");
    assert.deepEqual(Object.keys(spec.pins.tools), ["a_tool", "gone"], "with --tool, other pins stay");
  });

  it("refuses what it cannot do", async () => {
    const unknown = await runCli("policy", "pin", "--url", server.url, "--tool", "nope");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--tool nope: .* lists no such tool/);
    assert.equal((await runCli("policy", "pin")).code, 2);
    const down = await runCli("policy", "pin", "--url", "http://127.0.0.1:1/mcp");
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot list the tools of http:\/\/127\.0\.0\.1:1\/mcp/);
  });
});
