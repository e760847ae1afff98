import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { globMatches, isGlob } from "./glob.ts";

test("isGlob recognises * and ?", () => {
  assert.equal(isGlob("manage_*"), true);
  assert.equal(isGlob("get_?"), true);
  assert.equal(isGlob("resume_execution"), false);
});

test("globs match whole names", () => {
  const cases: [string, string, boolean][] = [
    ["manage_*", "manage_flow", true],
    ["manage_*", "manage_", true],
    ["manage_*", "xmanage_flow", false],
    ["*_execution", "resume_execution", true],
    ["*_execution", "resume_executions", false],
    ["get_?", "get_a", true],
    ["get_?", "get_ab", false],
    ["*", "", true],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "aXXcYYb", false],
    ["list.*", "list.flows", true],
    ["list.*", "listXflows", false], // '.' is literal, not a regex wildcard
    ["[a]", "[a]", true],
    ["[a]", "a", false],
  ];
  for (const [pattern, name, expected] of cases)
    assert.equal(globMatches(pattern, name), expected, `${pattern} vs ${name}`);
});

test("glob matching agrees with a reference regex translation", () => {
  const alphabet = fc.constantFrom("a", "b", "_", ".");
  const toRegExp = (p: string) =>
    new RegExp(
      "^" + [...p].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.]/g, "\\."))).join("") + "$",
      "s",
    );
  fc.assert(
    fc.property(
      fc.string({ unit: fc.oneof(alphabet, fc.constantFrom("*", "?")), maxLength: 8 }),
      fc.string({ unit: alphabet, maxLength: 12 }),
      (pattern, name) => {
        assert.equal(globMatches(pattern, name), toRegExp(pattern).test(name));
      },
    ),
    { numRuns: 2000 },
  );
});

test("adversarial patterns terminate (no exponential backtracking)", { timeout: 10_000 }, () => {
  const pattern = "*a*a*a*a*a*a*a*a*b";
  const name = "a".repeat(5000);
  assert.equal(globMatches(pattern, name), false);
});
