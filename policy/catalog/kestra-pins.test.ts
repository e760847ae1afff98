import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { KESTRA_PINS } from "./kestra-pins.ts";
import { kestraPinsSource } from "./kestra-pins-source.ts";

test("the Kestra catalogue's pins are the digests of the Kestra tools/list fixture (npm run generate:kestra-pins)", () => {
  const fixture = JSON.parse(
    readFileSync(new URL("../../test/fixtures/kestra-tools-list.json", import.meta.url), "utf8"),
  ) as { tools: unknown[] };
  assert.equal(readFileSync(new URL("./kestra-pins.ts", import.meta.url), "utf8"), kestraPinsSource(fixture.tools));
  assert.equal(Object.keys(KESTRA_PINS).length, 39);
});
