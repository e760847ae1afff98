import assert from "node:assert/strict";
import { test } from "node:test";
import { compileCel } from "./cel/compile.ts";
import { ANONYMOUS_CALLER } from "./decision.ts";
import { celLiteral, conditionToCel, type ConditionType } from "./conditions.ts";

function holds(condition: ConditionType, args: Record<string, unknown>): boolean | string {
  const converted = conditionToCel(condition);
  if ("problem" in converted) throw new Error(converted.problem);
  const compiled = compileCel(converted.cel);
  if (!compiled.ok) throw new Error(`${converted.cel}: ${compiled.problem}`);
  return compiled.predicate({ args, tool: "t", caller: ANONYMOUS_CALLER });
}

test("every PolicyLayer operator", () => {
  const args = {
    amount: 150,
    currency: "usd",
    branch: "feat/x",
    tags: ["prod", "eu"],
    title: "a test run",
    nested: { key: "v" },
  };
  const cases: [ConditionType, boolean][] = [
    [{ path: "args.currency", op: "eq", value: "usd" }, true],
    [{ path: "args.currency", op: "eq", value: "eur" }, false],
    [{ path: "args.amount", op: "eq", value: 150 }, true],
    [{ path: "args.currency", op: "neq", value: "eur" }, true],
    [{ path: "args.currency", op: "in", value: ["usd", "eur"] }, true],
    [{ path: "args.currency", op: "in", value: ["gbp"] }, false],
    [{ path: "args.currency", op: "not_in", value: ["gbp"] }, true],
    [{ path: "args.amount", op: "lt", value: 151 }, true],
    [{ path: "args.amount", op: "lte", value: 150 }, true],
    [{ path: "args.amount", op: "gt", value: 150 }, false],
    [{ path: "args.amount", op: "gte", value: 150.0 }, true],
    [{ path: "args.amount", op: "gt", value: 10.5 }, true],
    [{ path: "args.branch", op: "regex", value: "^feat/" }, true],
    [{ path: "args.branch", op: "regex", value: "^fix/" }, false],
    [{ path: "args.title", op: "contains", value: "test" }, true],
    [{ path: "args.tags", op: "contains", value: "eu" }, true],
    [{ path: "args.tags", op: "contains", value: "us" }, false],
    [{ path: "args.nested.key", op: "eq", value: "v" }, true],
    [{ path: "args.nested.key", op: "exists" }, true],
    [{ path: "args.nested.other", op: "exists", value: true }, false],
    [{ path: "args.nested.other", op: "exists", value: false }, true],
  ];
  for (const [condition, expected] of cases) assert.equal(holds(condition, args), expected, JSON.stringify(condition));
});

test("a condition on an absent argument is false (so require denies and deny_if does not)", () => {
  for (const op of ["eq", "neq", "lt", "gt", "in", "not_in", "regex", "contains"] as const) {
    const value = op === "in" || op === "not_in" ? ["x"] : op === "lt" || op === "gt" ? 1 : "x";
    assert.equal(holds({ path: "args.absent", op, value }, {}), false, op);
    assert.equal(holds({ path: "args.deep.absent", op, value }, { deep: {} }), false, `${op} nested`);
  }
});

test("argument names that are not CEL identifiers are quoted", () => {
  assert.equal(holds({ path: "args.flow-id", op: "eq", value: "f" }, { "flow-id": "f" }), true);
  assert.equal(holds({ path: "args.in", op: "eq", value: 1 }, { in: 1 }), true, "reserved words too");
});

test("bad conditions name what is wrong", () => {
  const problem = (c: ConditionType) => {
    const r = conditionToCel(c);
    return "problem" in r ? r.problem : "";
  };
  assert.match(problem({ path: "state.x.count", op: "lte", value: 5 }), /path must look like "args\.<field>/);
  assert.match(problem({ path: "args", op: "eq", value: 5 }), /path must look like/);
  assert.match(problem({ path: "args.a", op: "gt", value: "10" }), /"gt" needs a numeric value/);
  assert.match(problem({ path: "args.a", op: "in", value: "x" }), /"in" needs a list value/);
  assert.match(problem({ path: "args.a", op: "regex", value: "([" }), /invalid regular expression/);
  assert.match(problem({ path: "args.a", op: "regex", value: 3 }), /needs a string value/);
  assert.match(problem({ path: "args.a", op: "exists", value: "yes" }), /"exists" needs a boolean/);
  assert.match(problem({ path: "args.a", op: "eq" }), /"eq" needs a value/);
});

test("JSON values become CEL literals", () => {
  assert.equal(celLiteral('it\'s "q"\n'), '"it\'s \\"q\\"\\n"');
  assert.equal(celLiteral(10000), "10000");
  assert.equal(celLiteral(1.5), "1.5");
  assert.equal(celLiteral(1e21), "1e+21");
  assert.equal(celLiteral([1, "a", null, true]), '[1, "a", null, true]');
  assert.equal(celLiteral({ k: [false] }), '{"k": [false]}');
});
