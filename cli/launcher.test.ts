// cli/bin/mcp-warden, the installed command (and, linked as kubectl-mcp_warden, the kubectl plugin):
// it finds the checkout through npm's bin links and runs the TypeScript entry with a Node that can.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

const LAUNCHER = join(import.meta.dirname, "bin", "mcp-warden");

/** A checkout with the real launcher and entries that print what they were run with. */
function checkout(options: { node: boolean }): { root: string; bin: string } {
  const root = mkdtempSync(join(tmpdir(), "launcher-"));
  mkdirSync(join(root, "cli", "bin"), { recursive: true });
  copyFileSync(LAUNCHER, join(root, "cli", "bin", "mcp-warden"));
  symlinkSync("mcp-warden", join(root, "cli", "bin", "kubectl-mcp_warden"));
  for (const entry of ["mcp-warden.ts", "kubectl-plugin.ts"]) {
    writeFileSync(
      join(root, "cli", entry),
      `console.log(JSON.stringify({ entry: ${JSON.stringify(entry)}, node: process.versions.node.split(".")[0], argv: process.argv.slice(2) }));\n`,
    );
  }
  if (options.node) {
    mkdirSync(join(root, "node_modules", "node", "bin"), { recursive: true });
    symlinkSync(process.execPath, join(root, "node_modules", "node", "bin", "node"));
  }
  // Where `npm install -g` links the commands.
  const bin = join(root, "global-bin");
  mkdirSync(bin);
  for (const name of ["mcp-warden", "kubectl-mcp_warden"]) symlinkSync(join(root, "cli", "bin", name), join(bin, name));
  return { root, bin };
}

/** A PATH directory whose `node` is the given one. */
function pathWith(node: string): string {
  const dir = mkdtempSync(join(tmpdir(), "path-"));
  symlinkSync(node, join(dir, "node"));
  return dir;
}

function run(command: string, args: string[], path: string) {
  const result = spawnSync(command, args, { env: { PATH: `${path}:/usr/bin:/bin` }, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the mcp-warden launcher", () => {
  it("runs the checkout's own Node 24, reached through npm's bin links, with every argument", () => {
    const { bin } = checkout({ node: true });
    const old = pathWith(writeOldNode());
    const plain = run(join(bin, "mcp-warden"), ["status", "-n", "agents"], old);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(JSON.parse(plain.stdout), {
      entry: "mcp-warden.ts",
      node: process.versions.node.split(".")[0],
      argv: ["status", "-n", "agents"],
    });
    const plugin = run(join(bin, "kubectl-mcp_warden"), ["status", "--context", "prod", "-A"], old);
    assert.deepEqual(JSON.parse(plugin.stdout), {
      entry: "kubectl-plugin.ts",
      node: process.versions.node.split(".")[0],
      argv: ["status", "--context", "prod", "-A"],
    });
  });

  it("uses node from PATH when the checkout has none, if it is Node 24 or later", () => {
    const { bin } = checkout({ node: false });
    const result = run(join(bin, "kubectl-mcp_warden"), ["status"], pathWith(process.execPath));
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { entry: string }).entry, "kubectl-plugin.ts");
  });

  it("says what it needs when the only node is older", () => {
    const { root, bin } = checkout({ node: false });
    const result = run(join(bin, "kubectl-mcp_warden"), ["status"], pathWith(writeOldNode()));
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(
        `^kubectl mcp-warden: needs Node\\.js 24 or later \\(found .*/node on PATH, version v20\\.11\\.1\\); install it, or run npm ci in ${root}\\n$`,
      ),
    );
    assert.equal(result.stdout, "");
  });
});

/** A `node` that is Node 20 as far as the launcher can tell. */
function writeOldNode(): string {
  const file = join(mkdtempSync(join(tmpdir(), "old-node-")), "node");
  writeFileSync(
    file,
    '#!/bin/sh\ncase "$1" in -p) echo 20 ;; --version) echo v20.11.1 ;; *) echo "node 20 cannot run $*" >&2; exit 9 ;; esac\n',
    { mode: 0o755 },
  );
  return file;
}
