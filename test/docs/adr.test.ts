// The architecture decision records in docs/adr/ carry their header: a Status, the Date they were
// written, and the records they supersede or amend, named by number, with the other record saying
// so in return, so a reader of an old decision learns what replaced it.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const DIR = join(import.meta.dirname, "..", "..", "docs", "adr");
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith(".md"))
  .sort();
const NUMBERS = new Set(FILES.map((f) => f.slice(0, 4)));

/** Links one record names in its header, and the line the named record must carry in return. */
const LINKS = {
  Supersedes: "Superseded by",
  "Superseded by": "Supersedes",
  Amends: "Amended by",
  "Amended by": "Amends",
} as const;
type Link = keyof typeof LINKS;

/** The header: the lines between the title and the first section. */
function header(file: string): string[] {
  const lines = readFileSync(join(DIR, file), "utf8").split("\n");
  const end = lines.findIndex((line, i) => i > 0 && line.startsWith("## "));
  return lines.slice(1, end === -1 ? lines.length : end);
}

/** The record numbers a link line names: `0100 (what it replaced), 0450 (…)`. */
function linked(value: string): string[] {
  return [...value.replace(/\([^)]*\)/g, "").matchAll(/(?:^|,)\s*(\d{4})\b/g)].map((m) => m[1]!);
}

function links(file: string): Map<Link, string[]> {
  const found = new Map<Link, string[]>();
  for (const line of header(file)) {
    const label = (Object.keys(LINKS) as Link[]).find((l) => line.startsWith(`${l}: `));
    if (label) found.set(label, linked(line.slice(label.length + 2)));
  }
  return found;
}

describe("architecture decision records", () => {
  it("are named NNNN-title.md with a title numbered as the file", () => {
    for (const file of FILES) {
      assert.match(file, /^\d{4}-[a-z0-9-]+\.md$/, file);
      const title = readFileSync(join(DIR, file), "utf8").split("\n")[0]!;
      assert.equal(title.match(/^# (\d+)\. \S/)?.[1], String(Number(file.slice(0, 4))), `${file}: ${title}`);
    }
  });

  it("each carry a Status and a Date line in their header", () => {
    for (const file of FILES) {
      const lines = header(file);
      assert.ok(
        lines.some((l) => /^Status: (Proposed|Accepted|Superseded|Deprecated)$/.test(l)),
        `${file} has a Status line`,
      );
      const date = lines.find((l) => l.startsWith("Date: "))?.slice(6);
      assert.match(date ?? "", /^\d{4}-\d{2}-\d{2}$/, `${file} has a Date line`);
      assert.ok(!Number.isNaN(Date.parse(date!)), `${file}: ${date} is a date`);
    }
  });

  it("name by number records that exist when they supersede or amend one, and the other record says so in return", () => {
    for (const file of FILES) {
      for (const [label, numbers] of links(file)) {
        assert.ok(numbers.length > 0, `${file}: ${label} names records by their four-digit number`);
        for (const number of numbers) {
          assert.ok(NUMBERS.has(number), `${file}: ${label} ${number} exists in docs/adr`);
          const other = FILES.find((f) => f.startsWith(number))!;
          assert.ok(
            links(other).get(LINKS[label])?.includes(file.slice(0, 4)),
            `${other} says ${LINKS[label]}: ${file.slice(0, 4)}`,
          );
        }
      }
    }
  });

  it("state their context in their own words, citing no tracker entry (issue numbers)", () => {
    for (const file of FILES) {
      const text = readFileSync(join(DIR, file), "utf8");
      assert.doesNotMatch(text, /\bissue ?\d+|\bthe issue\b/i, file);
    }
  });
});
