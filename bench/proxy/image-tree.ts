// The benchmarks run the sidecar as the image runs it: the sources compiled by the Dockerfile's build
// stage (tsconfig.build.json, the Lua scripts beside them) and started with the ENTRYPOINT's Node
// flags and environment. The Node baseline is compiled the same way, so neither pays for type stripping. Another source
// tree (a baseline commit, bench/proxy/baseline.ts) is compiled and started the same way from its own
// sources, tsconfig and Dockerfile.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDockerfile } from "../../test/image/dockerfile.ts";

const root = new URL("../../", import.meta.url).pathname;

export interface ImageTree {
  /** The compiled `mcp-warden` entrypoint. */
  cli: string;
  /** The compiled Node passthrough baseline. */
  passthrough: string;
  /** The Node flags of the image's ENTRYPOINT. */
  nodeFlags: string[];
  /** The runtime stage's ENV (NODE_ENV=production). */
  env: Record<string, string>;
}

const built = new Map<string, ImageTree>();

/** The image's app directory compiled from `source` (this tree unless given). */
export function imageTree(source: string = root): ImageTree {
  const cached = built.get(source);
  if (cached) return cached;
  const app = join(mkdtempSync(join(tmpdir(), "mcp-warden-bench-image-")), "app");
  execFileSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", join(source, "tsconfig.build.json"), "--outDir", app],
    { stdio: "inherit" },
  );
  // The Redis scripts, where the tree keeps them (sidecar/ratelimit now, policy/ratelimit in older commits).
  for (const dir of ["sidecar/ratelimit", "policy/ratelimit"].filter((d) => existsSync(join(source, d)))) {
    for (const lua of readdirSync(join(source, dir)).filter((f) => f.endsWith(".lua")))
      copyFileSync(join(source, dir, lua), join(app, dir, lua));
  }
  copyFileSync(join(source, "package.json"), join(app, "package.json"));
  symlinkSync(join(root, "node_modules"), join(app, "node_modules"));
  // The passthrough is the benchmark's own yardstick: always this tree's.
  const passthrough = join(app, "node-passthrough.js");
  writeFileSync(passthrough, stripTypeScriptTypes(readFileSync(join(root, "bench/proxy/node-passthrough.ts"), "utf8")));
  const runtime = parseDockerfile(readFileSync(join(source, "Dockerfile"), "utf8")).stages.at(-1);
  const tree = {
    cli: join(app, "cli/mcp-warden.js"),
    passthrough,
    nodeFlags: entrypointNodeFlags(runtime),
    env: runtimeEnv(runtime),
  };
  built.set(source, tree);
  return tree;
}

type Stage = ReturnType<typeof parseDockerfile>["stages"][number] | undefined;

function entrypointNodeFlags(runtime: Stage): string[] {
  const entrypoint = runtime?.instructions.find((i) => i.name === "ENTRYPOINT")?.exec ?? [];
  return entrypoint.slice(1, -1);
}

/** ENV instructions in their `KEY=value` form (the form the Dockerfile uses). */
function runtimeEnv(runtime: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of (runtime?.instructions ?? []).filter((i) => i.name === "ENV").flatMap((i) => i.words)) {
    const at = word.indexOf("=");
    if (at > 0) env[word.slice(0, at)] = word.slice(at + 1).replace(/^"(.*)"$/, "$1");
  }
  return env;
}
