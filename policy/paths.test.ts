import assert from "node:assert/strict";
import { test } from "node:test";
import { fieldPath, jsonPointer } from "./paths.ts";

test('field paths read as dotted names with [index] and ["quoted"] segments', () => {
  assert.equal(fieldPath(["spec", "tools", 3, "denyIf", 0]), "spec.tools[3].denyIf[0]");
  assert.equal(fieldPath(["tools", "create_charge", "deny_if", 1]), "tools.create_charge.deny_if[1]");
  assert.equal(fieldPath(["tools", "manage-*", "limits", 0]), 'tools["manage-*"].limits[0]');
  assert.equal(fieldPath([]), "(document)");
});

test("JSON Pointers escape ~ and / (RFC 6901)", () => {
  assert.equal(jsonPointer(["tools", "resume_execution", "limits", 0]), "/tools/resume_execution/limits/0");
  assert.equal(jsonPointer(["tools", "a/b~c"]), "/tools/a~1b~0c");
  assert.equal(jsonPointer([]), "");
});
