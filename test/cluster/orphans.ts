// A test process killed with SIGKILL (or a crashed runner) cannot stop its control plane. Each
// control plane records its owner and components in its temp dir; the next start reaps the ones
// whose owner is gone, killing only processes that still run the recorded binary.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const controlPlaneDirPrefix = "mcp-warden-cluster-";
const recordFile = "owner.json";

interface OwnerRecord {
  ownerPid: number;
  ownerStart: string | null;
  components: { name: string; pid: number; binary: string }[];
}

/** The kernel's start time of a process: with the pid, it identifies the process even if pids are reused. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ")"; starttime is field 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function runsBinary(pid: number, binary: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] === binary;
  } catch {
    return false;
  }
}

/** Written after each start of a component; removed by a clean stop. */
export function recordOwnership(dir: string, components: { name: string; pid: number; binary: string }[]): void {
  const record: OwnerRecord = {
    ownerPid: process.pid,
    ownerStart: processStart(process.pid),
    components: components.map(({ name, pid, binary }) => ({ name, pid, binary })),
  };
  writeFileSync(join(dir, recordFile), JSON.stringify(record, null, 2));
}

/** Kills the components of control planes whose owning process has gone, and removes their dirs. */
export function reapOrphanedControlPlanes(tmpRoot: string): string[] {
  const reaped: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(tmpRoot).filter((entry) => entry.startsWith(controlPlaneDirPrefix));
  } catch {
    return reaped;
  }
  for (const entry of entries) {
    const dir = join(tmpRoot, entry);
    let record: OwnerRecord;
    try {
      record = JSON.parse(readFileSync(join(dir, recordFile), "utf8")) as OwnerRecord;
    } catch {
      continue; // not started far enough to record anything, or not ours
    }
    // Without a start time (no /proc) the owner's fate is unknown: leave the dir alone.
    if (record.ownerStart === null || processStart(record.ownerPid) === record.ownerStart) continue;
    for (const component of record.components) {
      if (!runsBinary(component.pid, component.binary)) continue;
      try {
        process.kill(-component.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    // A node's dir holds mounts (pod volumes, container root filesystems): reapOrphanedNode() unmounts
    // them and cleans the host before it removes the dir.
    if (!existsSync(join(dir, "node-slot"))) rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}
