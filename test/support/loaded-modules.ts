// Which module files a Node process loads: a `--import` hook, written to a temporary file, appends every
// file URL the process resolves (ESM imports and CommonJS requires alike, through module.registerHooks)
// to a list as it goes, so the list is complete even for a process that is killed. Tests use it to check
// what a start-up pulls in (test/sidecar/loaded-modules.test.ts); bench/idle counts the files.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ModuleRecorder {
  /** Node flags that install the hook (before the entry script). */
  readonly nodeArgs: readonly string[];
  /** The distinct module files resolved so far (file URLs). */
  files(): string[];
  /** The npm packages among them: "yaml", "@bufbuild/cel", … (the innermost node_modules entry). */
  packages(): Set<string>;
}

export function moduleRecorder(): ModuleRecorder {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-modules-"));
  const list = join(dir, "loaded.txt");
  const hook = join(dir, "record-modules.mjs");
  writeFileSync(
    hook,
    `import { appendFileSync } from "node:fs";
import { registerHooks } from "node:module";
const seen = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (resolved.url.startsWith("file:") && !seen.has(resolved.url)) {
      seen.add(resolved.url);
      appendFileSync(${JSON.stringify(list)}, resolved.url + "\\n");
    }
    return resolved;
  },
});
`,
  );
  const files = () => (existsSync(list) ? [...new Set(readFileSync(list, "utf8").split("\n").filter(Boolean))] : []);
  return {
    nodeArgs: ["--import", hook],
    files,
    packages: () => new Set(files().flatMap((url) => packageOf(url) ?? [])),
  };
}

/** The npm package a module file belongs to, or undefined for the project's own files. */
export function packageOf(url: string): string | undefined {
  const at = url.lastIndexOf("/node_modules/");
  if (at < 0) return undefined;
  const [first, second] = url.slice(at + "/node_modules/".length).split("/");
  return first?.startsWith("@") ? `${first}/${second}` : first;
}
