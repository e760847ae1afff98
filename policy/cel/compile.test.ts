import assert from "node:assert/strict";
import { test } from "node:test";
import { compileCel, type CelActivation } from "./compile.ts";

const activation: CelActivation = {
  args: { namespace: "dev.team", action: "get", amount: 120, tags: ["a", "b"], nested: { key: "v" }, flag: true },
  tool: "manage_flow",
  caller: {
    grant: "ci-bot",
    sub: "system:serviceaccount:agents:bot",
    groups: ["agents", "readers"],
    claims: { team: "data" },
  },
};

function run(source: string): boolean | string {
  const compiled = compileCel(source);
  if (!compiled.ok) throw new Error(`did not compile: ${compiled.problem}`);
  return compiled.predicate(activation);
}

function problem(source: string): string {
  const compiled = compileCel(source);
  assert.equal(compiled.ok, false, `expected ${source} to be rejected`);
  return compiled.ok ? "" : compiled.problem;
}

test("expressions over args, tool and caller evaluate", () => {
  assert.equal(run("args.namespace.startsWith('dev.')"), true);
  assert.equal(run("args.action != 'delete'"), true);
  assert.equal(run("args.amount > 100"), true, "JSON numbers compare with int literals");
  assert.equal(run("args.amount <= 100.5"), false);
  assert.equal(run("'b' in args.tags && args.tags.size() == 2"), true);
  assert.equal(run("args.nested.key == 'v'"), true);
  assert.equal(run("has(args.missing)"), false);
  assert.equal(run("tool == 'manage_flow'"), true);
  assert.equal(run("caller.grant == 'ci-bot' && 'readers' in caller.groups"), true);
  assert.equal(run("caller.claims.team == 'data'"), true);
  assert.equal(run("caller.groups.exists(g, g.startsWith('agent'))"), true);
  assert.equal(run("args.namespace.matches('^dev\\\\.')"), true);
  assert.equal(run("args.flag"), true, "a dyn value that is a bool is fine");
  assert.equal(run("args.namespace.lowerAscii() == 'dev.team'"), true, "strings extension is available");
});

test("run-time failures are reported, not thrown", () => {
  assert.match(String(run("args.missing == 'x'")), /missing/);
  assert.match(String(run("args.amount")), /not a bool/);
  assert.match(String(run("args.namespace > 3")), /overload|no such/i);
});

test("syntax errors name the position", () => {
  assert.match(problem("args.x +"), /^syntax error: at 1:8:/);
  assert.match(problem("args.x == 'unterminated"), /^syntax error/);
});

test("undeclared references and unknown functions are rejected at load", () => {
  assert.equal(problem("arg.x == 1"), "undeclared reference 'arg' (known variables: args, tool, caller)");
  assert.equal(problem("frobnicate(args)"), "undeclared reference 'frobnicate'");
  assert.match(problem("args.x.frobnicate()"), /frobnicate/);
  assert.equal(problem("caller.subject == 'x'"), "undefined field 'subject' (fields: grant, sub, groups, claims)");
});

test("type errors are rejected at load", () => {
  assert.equal(problem("tool == 1"), "found no matching overload for '_==_' applied to (string, int)");
  assert.equal(problem("tool.startsWith(1)"), "found no matching overload for 'startsWith' applied to (string, int)");
  assert.equal(problem("1 + 'a' == 2"), "found no matching overload for '_+_' applied to (int, string)");
  assert.equal(problem("tool"), "must evaluate to a bool, not string");
  assert.equal(problem("caller.groups.size()"), "must evaluate to a bool, not int");
  assert.match(problem("tool.x == 1"), /has no field 'x'/);
  assert.match(problem("!tool"), /no matching overload for '!_'/);
  assert.match(problem("tool ? true : false"), /condition must be a bool/);
  assert.match(problem("1.exists(x, x)"), /cannot iterate/);
});

test("constant regular expressions are validated at load (RE2 syntax)", () => {
  assert.match(problem("args.x.matches('[')"), /^invalid regular expression '\[':/);
  assert.match(problem("args.x.matches('(?=lookahead)')"), /^invalid regular expression/);
});

test("macros bind their variables only inside the macro", () => {
  assert.equal(run("args.tags.all(t, t.size() == 1)"), true);
  assert.equal(run("[1, 2, 3].filter(x, x > 1).size() == 2"), true);
  assert.match(problem("args.tags.all(t, t == 'a') && t == 'a'"), /undeclared reference 't'/);
});
