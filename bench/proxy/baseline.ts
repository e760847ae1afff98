// Another commit's source tree to measure next to this one (`BENCH_BASELINE=<git ref>`): exported once
// per commit with `git archive` under ~/.cache/mcp-warden/bench-baseline-<sha>, outside the repository
// (no worktree to clean up, nothing in `git status`), with this tree's node_modules linked in. A commit
// never changes, so an export that completed is reused as it is.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const COMPLETE = ".bench-baseline-complete";

export interface Baseline {
  /** The ref as given (what the tables show). */
  ref: string;
  sha: string;
  /** The exported source tree. */
  dir: string;
}

export function baselineTree(ref: string): Baseline {
  const sha = git("rev-parse", "--verify", "--quiet", `${ref}^{commit}`).trim();
  if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`BENCH_BASELINE=${ref} names no commit of this repository`);
  const dir = join(homedir(), ".cache/mcp-warden", `bench-baseline-${sha}`);
  if (existsSync(join(dir, COMPLETE))) return { ref, sha, dir };
  // Exported beside its final place and renamed into it, so an interrupted export is never reused.
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  execFileSync("sh", ["-c", 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', "sh", root, sha, partial], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  symlinkSync(realpathSync(join(root, "node_modules")), join(partial, "node_modules"));
  writeFileSync(join(partial, COMPLETE), `${sha}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return { ref, sha, dir };
}

function git(...args: string[]): string {
  try {
    return execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
}
