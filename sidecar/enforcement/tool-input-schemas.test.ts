import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KnownTools } from "./tool-names.ts";
import { ToolInputSchemas } from "./tool-input-schemas.ts";

const tool = (name: string, properties: Record<string, unknown> = { flag: { type: "boolean" } }) => ({
  name,
  inputSchema: { type: "object", properties, additionalProperties: false },
});

function check(schemas: ToolInputSchemas, name: string, args: unknown): string | undefined {
  const schema = schemas.lookup(name);
  assert.ok(schema && "validate" in schema, `${name}: ${JSON.stringify(schema)}`);
  return schema.validate(args);
}

describe("the catalogue of declared input schemas", () => {
  it("merges what agents list, page by page, and replaces it with a complete listing", () => {
    const schemas = new ToolInputSchemas();
    schemas.learn([tool("a"), tool("b")]);
    schemas.learn([tool("c")]);
    assert.equal(schemas.size, 3);
    assert.match(check(schemas, "a", { flag: "true" }) ?? "", /must be a boolean/);
    schemas.replace([tool("a", { flag: { type: "string" } }), tool("d")]);
    assert.equal(schemas.size, 2);
    assert.equal(schemas.lookup("b"), undefined, "a complete listing that lacks b: b is no longer a tool");
    assert.equal(check(schemas, "a", { flag: "true" }), undefined, "the new schema of a is in force");
  });

  it("keeps a compiled schema while the listing repeats it, and recompiles when it changes", () => {
    const schemas = new ToolInputSchemas();
    schemas.learn([tool("a")]);
    const first = schemas.lookup("a");
    schemas.replace([tool("a")]);
    schemas.learn([tool("a")]);
    assert.equal(schemas.lookup("a"), first, "same text, same validator");
    schemas.learn([tool("a", { flag: { type: "integer" } })]);
    assert.notEqual(schemas.lookup("a"), first);
  });

  it("checks a copy of what was listed: the relayed answer may change later", () => {
    const schemas = new ToolInputSchemas();
    const listed = tool("a");
    schemas.learn([listed]);
    (listed.inputSchema.properties as { flag: unknown }).flag = {};
    assert.match(check(schemas, "a", { flag: 1 }) ?? "", /must be a boolean/);
  });

  it("is bounded, and records a tool without a usable schema as such", () => {
    const schemas = new ToolInputSchemas(2);
    schemas.learn([tool("a"), tool("b"), tool("c"), { name: 7 }, "x", null]);
    assert.equal(schemas.size, 2);
    assert.equal(schemas.lookup("c"), undefined);
    const noSchema = new ToolInputSchemas();
    noSchema.learn([
      { name: "bare" },
      { name: "big", inputSchema: { type: "object", properties: { n: { const: 10n } } } },
      { name: "list", inputSchema: [] },
    ]);
    assert.deepEqual(noSchema.lookup("bare"), { problem: "the tool declares no inputSchema" });
    assert.deepEqual(noSchema.lookup("big"), { problem: "the tool's inputSchema cannot be read as JSON" });
    assert.deepEqual(noSchema.lookup("list"), { problem: "the tool's inputSchema is not a JSON Schema object" });
  });
});

describe("KnownTools and the upstream's tool lists", () => {
  it("learns names and schemas from tools/list answers", () => {
    const known = new KnownTools();
    known.learnTools([tool("a"), { name: "b", inputSchema: { type: "object" } }]);
    assert.ok(known.has("a") && known.has("b"));
    assert.equal(known.inputSchemas.size, 2);
    assert.equal(known.lacks("zzz"), false, "without the sidecar's own listing, no name is known to be missing");
    known.replaceTools([tool("b")]);
    assert.equal(
      known.has("a"),
      false,
      "a complete listing is the catalogue: a tool it no longer lists is one the server does not have",
    );
    assert.ok(known.lacks("a") && !known.lacks("b"));
    assert.equal(known.inputSchemas.lookup("a"), undefined);
  });

  it("toolListChanged asks every registered lister for a listing and resolves when they are done", async () => {
    const known = new KnownTools();
    await known.toolListChanged(); // nothing registered: resolves at once
    const order: string[] = [];
    const remove = known.onToolListChanged(async () => {
      order.push("listing");
      await new Promise((r) => setTimeout(r, 20));
      order.push("listed");
    });
    await known.toolListChanged();
    assert.deepEqual(order, ["listing", "listed"]);
    remove();
    await known.toolListChanged();
    assert.equal(order.length, 2);
  });
});

describe("warming the catalogue", () => {
  it("compiles every learnt schema in the background, one per turn of the event loop", async () => {
    const schemas = new ToolInputSchemas();
    schemas.learn([tool("a"), tool("b")]);
    schemas.warm();
    schemas.learn([tool("c")]);
    schemas.warm(); // while warming: picked up when the first round ends
    const compiledNow = () =>
      ["a", "b", "c"].filter(
        (n) =>
          (schemas as unknown as { entries: Map<string, { compiled?: unknown }> }).entries.get(n)?.compiled !==
          undefined,
      ).length;
    assert.equal(compiledNow(), 0, "nothing compiled synchronously");
    await new Promise((r) => setImmediate(r));
    assert.equal(compiledNow(), 1, "one per turn");
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    assert.equal(compiledNow(), 3);
  });
});
