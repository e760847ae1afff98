import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classify } from "./jsonrpc.ts";
import { decisionAnswer } from "../proxy/decision-answers.ts";
import { decodeHeaderValue, declaresModernRevision, isModernMessage, metadataMismatch } from "./request-metadata.ts";

const call = classify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "get_weather" } });
const read = classify({ jsonrpc: "2.0", id: 2, method: "resources/read", params: { uri: "file:///x" } });

describe("request metadata headers", () => {
  it("accepts headers that mirror the body, plain or Base64", () => {
    assert.equal(metadataMismatch({ "mcp-method": "tools/call", "mcp-name": "get_weather" }, [call], false), undefined);
    assert.equal(
      metadataMismatch({ "mcp-name": `=?base64?${Buffer.from("get_weather").toString("base64")}?=` }, [call], false),
      undefined,
    );
    assert.equal(
      metadataMismatch({ "mcp-method": "resources/read", "mcp-name": "file:///x" }, [read], false),
      undefined,
    );
    assert.equal(metadataMismatch({}, [call], false), undefined);
  });

  it("rejects any disagreement, a malformed Base64 value, and headers on a batch", () => {
    assert.match(
      metadataMismatch({ "mcp-name": "other" }, [call], false) ?? "",
      /Mcp-Name header value 'other' does not match body value 'get_weather'/,
    );
    assert.match(metadataMismatch({ "mcp-method": "tools/list" }, [call], false) ?? "", /Mcp-Method/);
    assert.match(metadataMismatch({ "mcp-name": "=?base64?***?=" }, [call], false) ?? "", /invalid/);
    assert.match(metadataMismatch({ "mcp-name": "get_weather" }, [read], false) ?? "", /does not match/);
    assert.match(metadataMismatch({ "mcp-method": "tools/call" }, [call, read], true) ?? "", /batch/);
  });

  it("decodes the sentinel form only when it is exact", () => {
    assert.equal(decodeHeaderValue(`=?base64?${Buffer.from("Hello, 世界").toString("base64")}?=`), "Hello, 世界");
    assert.equal(decodeHeaderValue("plain"), "plain");
    assert.equal(decodeHeaderValue("=?base64?abc"), undefined);
    assert.equal(decodeHeaderValue(`=?base64?${Buffer.from([0xff, 0xfe]).toString("base64")}?=`), undefined);
  });

  it("knows which requests declare the 2026-07-28 revision", () => {
    assert.equal(declaresModernRevision({ "mcp-protocol-version": "2026-07-28" }), true);
    assert.equal(declaresModernRevision({ "mcp-protocol-version": "2025-11-25" }), false);
    assert.equal(declaresModernRevision({}), false);
  });

  it("recognises 2026-07-28 requests by their _meta or header, and answers them with resultType", () => {
    const modern = classify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "x", _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } },
    });
    assert.equal(isModernMessage({}, modern), true);
    assert.equal(isModernMessage({ "mcp-protocol-version": "2026-07-28" }, call), true);
    assert.equal(isModernMessage({ "mcp-protocol-version": "2025-06-18" }, call), false);
    const verdict = { decision: "denied", reason: "default_deny", rule: "(default deny)", message: "no" } as const;
    assert.equal((decisionAnswer(1, "x", verdict, true).result as Record<string, unknown>).resultType, "complete");
    assert.equal(
      "resultType" in (decisionAnswer(1, "x", verdict).result as Record<string, unknown>),
      false,
      "older clients never see the field",
    );
  });
});
