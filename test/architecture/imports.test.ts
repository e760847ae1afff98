// The import graph of the production code (every .ts file outside tests): no file reaches itself
// through its imports, and inside sidecar/ every import points down the layers of
// test/architecture/sidecar-layers.ts (ADR 0900). Imports are read with TypeScript's own
// preprocessor, type-only and dynamic ones included: a type import ties two files together as well.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";
import { SIDECAR_LAYERS, layerOf } from "./sidecar-layers.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const PRODUCTION = ["policy", "sidecar", "operator", "kube", "telemetry", "cli", "monitoring"];

type Graph = ReadonlyMap<string, readonly string[]>;

function productionFiles(): string[] {
  return PRODUCTION.flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: "utf8" })
      .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
      .map((name) => posix.join(folder, name.split("\\").join("/"))),
  ).sort();
}

/** Each file's relative imports that resolve to another production file. */
function importGraph(files: readonly string[]): Graph {
  const known = new Set(files);
  return new Map(
    files.map((file) => {
      const info = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
      const targets = info.importedFiles
        .map((imported) => imported.fileName)
        .filter((name) => name.startsWith("."))
        .map((name) =>
          relative(ROOT, join(ROOT, dirname(file), name))
            .split("\\")
            .join("/"),
        )
        .filter((target) => known.has(target));
      return [file, [...new Set(targets)]];
    }),
  );
}

/** The strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cyclesOf(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file) as number, low.get(target) as number));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) as number, index.get(target) as number));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

/** Imports inside sidecar/ from a file to a file of a higher layer. */
function upwardImports(graph: Graph): string[] {
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    if (from === undefined) continue;
    for (const target of targets) {
      const to = layerOf(target);
      if (to !== undefined && to > from)
        upward.push(`${file} (${SIDECAR_LAYERS[from]?.name}) → ${target} (${SIDECAR_LAYERS[to]?.name})`);
    }
  }
  return upward;
}

describe("the import graph of the production code", () => {
  const files = productionFiles();
  const graph = importGraph(files);

  it("reads the files and their imports", () => {
    assert.ok(
      files.includes("sidecar/proxy/post.ts") && files.includes("policy/compile.ts"),
      "the production folders are read",
    );
    assert.ok(
      graph.get("sidecar/sidecar.ts")?.includes("sidecar/proxy/mcp-server.ts"),
      "relative imports resolve to files",
    );
  });

  it("finds a cycle when there is one", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
      ["e.ts", ["e.ts"]],
    ]);
    assert.deepEqual(
      cyclesOf(graph),
      [["a.ts", "b.ts", "c.ts"], ["e.ts"]].sort((x, y) => (x[0] as string).localeCompare(y[0] as string)),
    );
  });

  it("has no import cycles", () => {
    assert.deepEqual(
      cyclesOf(graph).map((cycle) => cycle.join(" ↔ ")),
      [],
    );
  });

  it("places every sidecar file in a layer", () => {
    assert.deepEqual(
      files.filter((file) => file.startsWith("sidecar/") && layerOf(file) === undefined),
      [],
    );
  });

  it("imports inside the sidecar only from its own layer or the layers below", () => {
    assert.deepEqual(upwardImports(graph), []);
  });
});
