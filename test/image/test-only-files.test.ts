// Code that only tests use stays out of the image: a runtime-folder module whose every importer is a
// test (a `*.test.ts`, anything under test/, or another test helper) must be named `testing.ts` or
// `*.testing.ts`, the names tsconfig.build.json and .dockerignore leave out.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, it } from "node:test";

const ROOT = join(import.meta.dirname, "..", "..");
const RUNTIME = ["cli", "kube", "operator", "policy", "sidecar", "telemetry"];
const SKIP = new Set(["node_modules", ".git", "dist"]);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

const isTestHelper = (file: string) => /(^|\/|\.)testing\.ts$/.test(file);
const isTest = (file: string) => file.endsWith(".test.ts") || file.startsWith("test/") || isTestHelper(file);

/** Who imports each file, by relative specifier (static imports, re-exports and dynamic `import("./x.ts")`). */
function importers(files: string[]): Map<string, string[]> {
  const byTarget = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+\.ts)["']/g)) {
      const target = normalize(join(dirname(file), match[1]!));
      byTarget.set(target, [...(byTarget.get(target) ?? []), file]);
    }
  }
  return byTarget;
}

describe("modules only tests use", () => {
  const files = sources("");
  const users = importers(files);

  it("finds the importers of the runtime's modules", () => {
    assert.ok(
      users.get("policy/decide.ts")?.some((f) => !isTest(f)),
      "policy/decide.ts is imported by the sidecar",
    );
    assert.ok(users.get("kube/manual-clock.testing.ts")?.every(isTest), "the ManualClock is imported by tests only");
  });

  it("are named testing.ts or *.testing.ts, so the image leaves them out", () => {
    const runtime = files.filter((f) => RUNTIME.some((dir) => f.startsWith(`${dir}/`)) && !isTest(f));
    const testOnly = runtime.filter((f) => {
      const by = users.get(f) ?? [];
      return by.length > 0 && by.every(isTest);
    });
    assert.deepEqual(
      testOnly.map((f) => `${f} (imported by ${users.get(f)!.join(", ")})`),
      [],
    );
  });
});
