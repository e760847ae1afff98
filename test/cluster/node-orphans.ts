// A node whose test process was SIGKILLed: its components were killed by the control-plane reaper
// (orphans.ts); its pods, mounts, cgroups, network and host entries are removed here, then its dir.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tearDownNode } from "./node.ts";
import { slotAddresses } from "./node-network.ts";

export async function reapOrphanedNode(dir: string): Promise<void> {
  const slotFile = join(dir, "node-slot");
  if (existsSync(slotFile)) {
    const slot = Number(readFileSync(slotFile, "utf8"));
    await tearDownNode({
      dir,
      network: slotAddresses(slot, join(dir, "netns")),
      cgroupName: `mcpw-${slot}`,
      containerdSocket: join(dir, "node", "containerd", "containerd.sock"),
      components: [],
    });
  }
  rmSync(dir, { recursive: true, force: true });
}
