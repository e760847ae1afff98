import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { compilePolicy } from "./compile.ts";
import { evaluateToolCall } from "./decide.ts";
import {
  checkDeclaredArguments,
  createDeclaredSchemaCompiler,
  type DeclaredInputSchemas,
  type DeclaredSchema,
} from "./input-schemas.ts";
import { parsePolicyText } from "./load.ts";
import { call } from "./testing.ts";

const FIXTURE = (
  JSON.parse(readFileSync(new URL("../test/fixtures/kestra-tools-list.json", import.meta.url), "utf8")) as {
    tools: { name: string; inputSchema: unknown }[];
  }
).tools;

/** The Kestra server's declared schemas, compiled as the sidecar compiles what it learns. */
function kestraSchemas(): DeclaredInputSchemas {
  const compile = createDeclaredSchemaCompiler();
  const byName = new Map(FIXTURE.map((t) => [t.name, compile(t.inputSchema, JSON.stringify(t.inputSchema))]));
  return { lookup: (tool) => byName.get(tool) };
}

function validate(schema: DeclaredSchema | undefined, args: unknown): string | undefined {
  assert.ok(schema && "validate" in schema, JSON.stringify(schema));
  return schema.validate(args);
}

describe("declared input schemas, checked without coercion", () => {
  const schemas = kestraSchemas();

  it("compiles all 39 Kestra schemas (pydantic's anyOf/null, defaults, format: binary)", () => {
    assert.equal(FIXTURE.length, 39);
    for (const tool of FIXTURE) assert.ok("validate" in (schemas.lookup(tool.name) ?? {}), tool.name);
  });

  it("refuses the values pydantic would coerce to booleans, naming the argument and the type", () => {
    const generate = schemas.lookup("generate_flow");
    for (const value of ["true", "1", "yes", 1, 0, "on", null, [true], { value: true }]) {
      const problem = validate(generate, { user_prompt: "p", auto_create: value });
      assert.match(problem ?? "", /^argument auto_create must be a boolean, not /, JSON.stringify(value));
    }
    assert.equal(
      validate(generate, { user_prompt: "p", auto_create: "true" }),
      'argument auto_create must be a boolean, not the string "true"',
    );
    assert.equal(
      validate(generate, { user_prompt: "p", auto_create: 1 }),
      "argument auto_create must be a boolean, not the number 1",
    );
    assert.equal(validate(generate, { user_prompt: "p", auto_create: false }), undefined);
    assert.equal(validate(generate, { user_prompt: "p" }), undefined, "defaults are not required");
  });

  it("refuses numbers as strings and strings as numbers, and other type confusions", () => {
    assert.equal(
      validate(schemas.lookup("list_executions"), { namespace: "n", count: "3" }),
      'argument count must be an integer, not the string "3"',
    );
    assert.equal(
      validate(schemas.lookup("list_executions"), { namespace: "n", count: 3.5 }),
      "argument count must be an integer, not the number 3.5",
    );
    assert.equal(
      validate(schemas.lookup("restart_execution"), { namespace: "n", flow_id: "f", execution_id: 42 }),
      "argument execution_id must be a string, not the number 42",
    );
    assert.equal(
      validate(schemas.lookup("resume_execution"), { execution_ids: "e1" }),
      'argument execution_ids must be an array or null, not the string "e1"',
    );
    assert.equal(
      validate(schemas.lookup("resume_execution"), { execution_ids: ["e1", 2] }),
      "argument execution_ids[1] must be a string or null, not the number 2".replace(" or null", ""),
    );
  });

  it("names missing, undeclared and out-of-enum arguments", () => {
    assert.equal(validate(schemas.lookup("restart_execution"), { flow_id: "f" }), "argument namespace is required");
    assert.equal(
      validate(schemas.lookup("restart_execution"), { namespace: "n", flow_id: "f", executionId: "e" }),
      "argument executionId is not declared by the tool",
    );
    assert.equal(
      validate(schemas.lookup("manage_kv_store"), { namespace: "n", action: "GET" }),
      'argument action must be one of "get", "set", "list", "delete", not the string "GET"',
    );
    assert.equal(
      validate(schemas.lookup("manage_kv_store"), []),
      "the arguments must be an object, not an empty array",
    );
  });

  it("never changes the arguments it checks (no defaults filled in, nothing removed)", () => {
    const args = { namespace: "n", flow_id: "f" };
    assert.equal(validate(schemas.lookup("restart_execution"), args), undefined);
    assert.deepEqual(args, { namespace: "n", flow_id: "f" });
  });

  it("reads the dialects MCP servers declare, and refuses to guess at others", () => {
    const compile = createDeclaredSchemaCompiler();
    const schema = (s: object) => compile(s, JSON.stringify(s));
    const draft7 = schema({
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: { n: { type: "number" } },
      additionalProperties: false,
    });
    assert.equal(validate(draft7, { n: "1" }), 'argument n must be a number, not the string "1"');
    const draft2019 = schema({
      $schema: "https://json-schema.org/draft/2019-09/schema",
      type: "object",
      properties: { b: { type: "boolean" } },
    });
    assert.equal(validate(draft2019, { b: "true" }), 'argument b must be a boolean, not the string "true"');
    assert.match(
      JSON.stringify(schema({ $schema: "http://json-schema.org/draft-04/schema#", type: "object" })),
      /dialect .*draft-04.* cannot check/,
    );
    assert.match(
      JSON.stringify(schema({ type: "object", properties: { x: { $ref: "https://example.com/remote.json" } } })),
      /cannot be checked/,
    );
    assert.match(JSON.stringify(schema({ type: "object", properties: { x: { type: "strng" } } })), /cannot be checked/);
    // Two tools may declare the same $id; each is compiled on its own.
    const a = schema({ $id: "https://example.com/same.json", type: "object", properties: { a: { type: "string" } } });
    const b = schema({ $id: "https://example.com/same.json", type: "object", properties: { a: { type: "integer" } } });
    assert.equal(validate(a, { a: "x" }), undefined);
    assert.equal(validate(b, { a: "x" }), 'argument a must be an integer, not the string "x"');
    // Patterns run on RE2; one RE2 cannot run makes the schema unusable, not unchecked.
    assert.match(
      JSON.stringify(schema({ type: "object", properties: { x: { type: "string", pattern: "(a)\\1" } } })),
      /cannot be checked/,
    );
  });

  it("never runs uniqueItems (quadratic in the caller's input; the server's business), and still checks the items' types", () => {
    const compile = createDeclaredSchemaCompiler();
    const s = {
      type: "object",
      properties: {
        tags: { type: "array", uniqueItems: true, items: { type: "object", properties: { k: { type: "string" } } } },
      },
    };
    const schema = compile(s, JSON.stringify(s));
    const tags = Array.from({ length: 20_000 }, (_, i) => ({ k: String(i % 7) }));
    const started = performance.now();
    assert.equal(validate(schema, { tags }), undefined);
    assert.ok(performance.now() - started < 100, `${(performance.now() - started).toFixed(1)} ms for 20,000 items`);
    assert.equal(validate(schema, { tags: [{ k: 1 }] }), "argument tags[0].k must be a string, not the number 1");
  });

  it("denies, failing closed, calls to tools whose schema is unknown or unusable", () => {
    const none: DeclaredInputSchemas = { lookup: () => undefined };
    const unknown = checkDeclaredArguments(call("restart_execution", {}), none, "/spec/arguments");
    assert.deepEqual(
      [unknown?.decision, unknown?.reason, unknown?.rule],
      ["denied", "input_schema_unknown", "/spec/arguments"],
    );
    assert.match(unknown?.message ?? "", /has not listed 'restart_execution'/);
    const broken = checkDeclaredArguments(
      call("x", {}),
      { lookup: () => ({ problem: "the tool declares no inputSchema" }) },
      "/spec/arguments",
    );
    assert.deepEqual([broken?.decision, broken?.reason], ["denied", "input_schema_unknown"]);
    assert.match(broken?.message ?? "", /declares no inputSchema/);
  });
});

describe("spec.arguments: strict in the engine", () => {
  const schemas = kestraSchemas();
  const policyText = (strict: boolean) => `
apiVersion: mcpwarden.io/v1alpha1
kind: McpPolicy
metadata: {name: p}
spec:
  default: deny
  ${strict ? "arguments: strict" : ""}
  hide: [force_run_execution]
  tools:
    - {name: generate_flow, denyIf: ["has(args.auto_create) && args.auto_create == true"]}
    - {name: restart_execution}
    - {name: manage_tests, action: deny}
`;
  const strict = compilePolicy(parsePolicyText(policyText(true), "p"));
  const lax = compilePolicy(parsePolicyText(policyText(false), "p"));

  it("denies before any CEL runs: the CEL rule alone lets the coerced value through", () => {
    const coerced = call("generate_flow", { user_prompt: "p", auto_create: "true" });
    assert.equal(evaluateToolCall(lax, coerced, schemas).decision, "allowed", "the attack this closes");
    const d = evaluateToolCall(strict, coerced, schemas);
    assert.deepEqual([d.decision, d.reason, d.rule], ["denied", "input_schema_mismatch", "/spec/arguments"]);
    assert.equal(
      d.message,
      "Arguments of 'generate_flow' do not match the inputSchema the tool declares: argument auto_create must be a boolean, not the string \"true\". " +
        'Send each argument with the declared type (true, not "true" or 1; ["a"], not "a") and retry.',
    );
    assert.equal(
      evaluateToolCall(strict, call("generate_flow", { user_prompt: "p", auto_create: true }), schemas).reason,
      "deny_if_matched",
      "then the rules",
    );
    assert.equal(evaluateToolCall(strict, call("generate_flow", { user_prompt: "p" }), schemas).decision, "allowed");
  });

  it("fails closed for a tool the upstream never listed, but hide and deny keep precedence", () => {
    const none: DeclaredInputSchemas = { lookup: () => undefined };
    assert.equal(
      evaluateToolCall(strict, call("restart_execution", { namespace: "n", flow_id: "f" }), none).reason,
      "input_schema_unknown",
    );
    assert.equal(evaluateToolCall(strict, call("force_run_execution", { execution_id: "e" }), none).reason, "hidden");
    assert.equal(evaluateToolCall(strict, call("manage_tests", { action: "run" }), none).reason, "tool_denied");
    assert.equal(evaluateToolCall(strict, call("unlisted_tool", {}), none).reason, "default_deny");
  });

  it("is off unless the policy asks, and offline evaluation (no schemas given) runs the rules only", () => {
    assert.equal(lax.strictArguments, undefined);
    assert.equal(strict.strictArguments, "/spec/arguments");
    assert.equal(evaluateToolCall(strict, call("restart_execution", { namespace: 1 })).decision, "allowed");
  });

  it("is accepted in a PolicyLayer document too, and points at its own field", () => {
    const layer = compilePolicy(
      parsePolicyText(
        '{"version":"1","default":"deny","arguments":"strict","tools":{"restart_execution":{}}}',
        "layer",
      ),
    );
    const d = evaluateToolCall(
      layer,
      call("restart_execution", { namespace: "n", flow_id: "f", execution_id: ["e"] }),
      schemas,
    );
    assert.deepEqual([d.reason, d.rule], ["input_schema_mismatch", "/arguments"]);
    assert.throws(() => parsePolicyText('{"version":"1","arguments":"loose"}', "layer"), /arguments/);
  });
});
