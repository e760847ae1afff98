import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsonOf, JsonText } from "./json-text.ts";

describe("jsonOf", () => {
  it("writes a relayed text as it is, alone or as an element of an array, and anything else as JSON.stringify does", () => {
    const relayed = new JsonText('{"id":1, "result":{"n":1.0}}');
    assert.equal(jsonOf(relayed), '{"id":1, "result":{"n":1.0}}');
    assert.equal(
      jsonOf([relayed, { id: 2, error: { code: 1 } }]),
      '[{"id":1, "result":{"n":1.0}},{"id":2,"error":{"code":1}}]',
    );
    assert.equal(jsonOf([{ a: [1] }, "x"]), '[{"a":[1]},"x"]');
    assert.equal(
      jsonOf({ text: relayed.text }),
      JSON.stringify({ text: relayed.text }),
      "only the sidecar's own wrapper is written raw",
    );
  });
});
