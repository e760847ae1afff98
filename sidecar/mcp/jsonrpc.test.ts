import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classify, idKey, imitatesPolicedMethod } from "./jsonrpc.ts";

describe("classify", () => {
  it("tells requests, notifications, responses and invalid messages apart", () => {
    assert.equal(classify({ jsonrpc: "2.0", id: 1, method: "tools/call" }).kind, "request");
    assert.equal(classify({ jsonrpc: "2.0", id: "a", method: "ping" }).kind, "request");
    assert.equal(classify({ jsonrpc: "2.0", method: "notifications/initialized" }).kind, "notification");
    assert.equal(classify({ jsonrpc: "2.0", id: 5, result: {} }).kind, "response");
    assert.equal(classify({ jsonrpc: "2.0", id: 5, error: { code: 1, message: "" } }).kind, "response");
    for (const bad of [
      null,
      1,
      "x",
      [],
      { id: 1 },
      { method: 7, id: 1 },
      { method: "tools/call", id: null },
      { method: "tools/call", id: {} },
      { method: "tools/call", id: Infinity },
    ]) {
      assert.equal(classify(bad).kind, "invalid", JSON.stringify(bad));
    }
  });

  it("refuses method names with control characters (a reader of C strings stops at NUL)", () => {
    for (const method of ["tools/call\u0000x", "ping\u0000", "notifications/cancelled\u001b", "x\u0085"]) {
      const m = classify({ jsonrpc: "2.0", id: 1, method });
      assert.equal(m.kind, "invalid", JSON.stringify(method));
      assert.equal(classify({ jsonrpc: "2.0", method }).kind, "invalid");
    }
  });
});

describe("imitatesPolicedMethod", () => {
  it("flags case, width, space and invisible-character variants of tools/call and tools/list, not the methods themselves", () => {
    for (const m of [
      "Tools/Call",
      "TOOLS/LIST",
      "tools/call ",
      " tools/call",
      "tools/call\u200b",
      "ｔｏｏｌｓ/ｃａｌｌ",
      "tools/\u00adcall",
      "tools/cal\u200dl",
      "Tools/list\ufeff",
      "tools/call\u0000",
      "tools/\u0001call",
      "tools/call\u007f",
      "tools/call\u2028",
      "tools/call\u00a0",
      "tools/call\u061c",
    ]) {
      assert.equal(imitatesPolicedMethod(m), true, JSON.stringify(m));
    }
    for (const m of ["tools/call", "tools/list", "resources/read", "prompts/get", "tools/calls", "tool/call"])
      assert.equal(imitatesPolicedMethod(m), false, m);
  });

  it("keeps numeric and string ids apart", () => {
    assert.notEqual(idKey(1), idKey("1"));
  });
});
