import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isOriginForm, mcpTargetProblem, searchOf } from "./request-target.ts";

describe("request targets", () => {
  it("serves the MCP route only for the exact path, a query allowed", () => {
    assert.equal(mcpTargetProblem("/mcp", "/mcp"), undefined);
    assert.equal(mcpTargetProblem("/mcp?x=1", "/mcp"), undefined);
    for (const target of [
      "/%6Dcp",
      "/%6dcp",
      "//mcp",
      "/mcp/",
      "/mcp;x",
      "/MCP",
      "/./mcp",
      "/a/../mcp",
      "/mcp%2F",
      "/mcp#x",
    ]) {
      assert.equal(mcpTargetProblem(target, "/mcp"), "not-the-mcp-path", target);
    }
    for (const target of ["http://x/mcp", "https://127.0.0.1/mcp", "*", "x:80", undefined]) {
      assert.equal(mcpTargetProblem(target, "/mcp"), "not-origin-form", String(target));
      assert.equal(isOriginForm(target), false);
    }
  });

  it("keeps the query for the upstream", () => {
    assert.equal(searchOf("/mcp?a=b"), "?a=b");
    assert.equal(searchOf("/mcp"), "");
  });
});
