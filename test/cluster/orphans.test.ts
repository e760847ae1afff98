// Reaping control planes whose test process was killed: only theirs, only processes still running
// the recorded binary.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isAlive, signalGroup, spawnGroup } from "../support/process-group.ts";
import { controlPlaneDirPrefix, reapOrphanedControlPlanes, recordOwnership } from "./orphans.ts";

const root = mkdtempSync(join(tmpdir(), "mcp-warden-orphans-test-"));
const sleepers: ChildProcess[] = [];
after(() => {
  for (const sleeper of sleepers) signalGroup(sleeper, "SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function sleeper(): { pid: number; exited: Promise<NodeJS.Signals | null> } {
  const child = spawnGroup("/bin/sleep", ["60"], { stdio: "ignore" });
  sleepers.push(child);
  return { pid: child.pid!, exited: new Promise((resolve) => child.once("exit", (_code, signal) => resolve(signal))) };
}

function controlPlaneDir(name: string, record?: object): string {
  const dir = join(root, `${controlPlaneDirPrefix}${name}`);
  mkdirSync(dir);
  if (record) writeFileSync(join(dir, "owner.json"), JSON.stringify(record));
  return dir;
}

void test("kills the components of a control plane whose owner is gone, and removes its dir", async () => {
  const orphan = sleeper();
  const dir = controlPlaneDir("orphaned", {
    ownerPid: 2 ** 30,
    ownerStart: "1",
    components: [{ name: "etcd", pid: orphan.pid, binary: "/bin/sleep" }],
  });
  assert.deepEqual(reapOrphanedControlPlanes(root), [dir]);
  assert.equal(await orphan.exited, "SIGKILL");
  assert.equal(existsSync(dir), false);
});

void test("leaves alone a control plane whose owner runs, one that recorded nothing, and processes that run something else", () => {
  const owned = sleeper();
  const ownedDir = controlPlaneDir("owned");
  recordOwnership(ownedDir, [{ name: "etcd", pid: owned.pid, binary: "/bin/sleep" }]);
  const unrecordedDir = controlPlaneDir("unrecorded");
  const reused = sleeper(); // a pid now used by another program than the recorded one
  const reusedDir = controlPlaneDir("pid-reused", {
    ownerPid: 2 ** 30,
    ownerStart: "1",
    components: [{ name: "etcd", pid: reused.pid, binary: "/opt/etcd" }],
  });

  assert.deepEqual(reapOrphanedControlPlanes(root), [reusedDir]);
  assert.ok(isAlive(owned.pid), "the running owner's component is kept");
  assert.ok(existsSync(ownedDir) && existsSync(unrecordedDir));
  assert.ok(isAlive(reused.pid), "a process that does not run the recorded binary is not killed");
});
