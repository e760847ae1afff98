import assert from "node:assert/strict";
import { test } from "node:test";
import { describeWindow, parseDuration } from "./duration.ts";

test("named windows and durations", () => {
  assert.equal(parseDuration("second"), 1_000);
  assert.equal(parseDuration("minute"), 60_000);
  assert.equal(parseDuration("hour"), 3_600_000);
  assert.equal(parseDuration("day"), 86_400_000);
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("15m"), 900_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  assert.equal(parseDuration("7d"), 604_800_000);
  assert.equal(parseDuration("250ms"), 250);
});

test("anything else is rejected", () => {
  for (const bad of ["", "0s", "-1s", "1.5m", "minutes", "1w", "10", "s"])
    assert.equal(parseDuration(bad), undefined, bad);
});

test("windows read naturally", () => {
  assert.equal(describeWindow("minute", 60_000), "minute");
  assert.equal(describeWindow("90s", 90_000), "90 seconds");
  assert.equal(describeWindow("15m", 900_000), "15 minutes");
  assert.equal(describeWindow("60m", 3_600_000), "hour");
  assert.equal(describeWindow("250ms", 250), "250 ms");
});
