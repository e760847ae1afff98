// The node's network: a network namespace bound to a file in the cluster's dir, joined to the root
// namespace by a veth pair, with routes for the cluster's pod and service ranges and an nftables table
// that drops anything the root namespace would forward to or from it (root's ip_forward stays 0; the
// table holds even if someone turns it on). Several clusters run side by side: each takes a free
// slot, and the slot's veth name is its lock (creating a link whose name exists fails atomically).
//
//   slot I: veth mcpw<I>h (root, 172.31.I.1/30) ⇄ mcpw<I>n → eth0 in the namespace (172.31.I.2/30)
//           pods 172.30.<2I>.0/24 on the bridge mcpw0, services 172.30.<2I+1>.0/24
//
// Unmounting the namespace file removes the namespace, the bridge, the veth pair and every rule
// kube-proxy wrote inside, at once (ADR 210).
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const MAX_SLOTS = 64;

export interface NodeNetwork {
  slot: number;
  /** The file the network namespace is bound to (`nsenter --net=<file>`). */
  netnsFile: string;
  hostVeth: string;
  /** The root namespace's end of the veth: the API server listens here. */
  hostAddress: string;
  /** The node's address (its InternalIP), inside the namespace. */
  nodeAddress: string;
  podCidr: string;
  serviceCidr: string;
  /** The first address of the service range: the `kubernetes` Service's ClusterIP. */
  kubernetesServiceIp: string;
  /** The pods' bridge inside the namespace. */
  bridge: string;
  nftTable: string;
}

export async function sh(command: string, args: string[], what = `${command} ${args.join(" ")}`): Promise<string> {
  try {
    const { stdout } = await run(command, args, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`${what} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

export function slotAddresses(slot: number, netnsFile: string): NodeNetwork {
  return {
    slot,
    netnsFile,
    hostVeth: `mcpw${slot}h`,
    hostAddress: `172.31.${slot}.1`,
    nodeAddress: `172.31.${slot}.2`,
    podCidr: `172.30.${2 * slot}.0/24`,
    serviceCidr: `172.30.${2 * slot + 1}.0/24`,
    kubernetesServiceIp: `172.30.${2 * slot + 1}.1`,
    bridge: "mcpw0",
    nftTable: `mcp_warden_node_${slot}`,
  };
}

/** Takes a free slot (by creating its veth pair) and builds the namespace around it. */
export async function createNodeNetwork(dir: string): Promise<NodeNetwork> {
  const netnsFile = join(dir, "netns");
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    const network = slotAddresses(slot, netnsFile);
    try {
      await run("ip", ["link", "add", network.hostVeth, "type", "veth", "peer", "name", `mcpw${slot}n`], {
        timeout: 10_000,
      });
    } catch {
      continue; // taken by another cluster (or left behind by a killed one: the reaper frees it)
    }
    try {
      writeFileSync(join(dir, "node-slot"), String(slot));
      await setUp(network);
      return network;
    } catch (error) {
      await removeNodeNetwork(network);
      throw error;
    }
  }
  throw new Error(`no free node network slot among ${MAX_SLOTS} (links mcpw0h…mcpw${MAX_SLOTS - 1}h all exist)`);
}

async function setUp(network: NodeNetwork): Promise<void> {
  const { netnsFile, hostVeth, slot } = network;
  writeFileSync(netnsFile, "");
  await sh("unshare", [`--net=${netnsFile}`, "true"]);
  // `ip link set … netns` takes a pid or a name under /run/netns; a short-lived process in the
  // namespace gives a pid without naming it globally.
  const holder = execFile("nsenter", [`--net=${netnsFile}`, "sleep", "30"]);
  try {
    const pid = await waitForNamespacedPid(holder.pid!, netnsFile);
    await sh("ip", ["link", "set", `mcpw${slot}n`, "netns", String(pid)]);
  } finally {
    holder.kill("SIGKILL");
  }
  const inNs = (args: string[]) => sh("nsenter", [`--net=${netnsFile}`, ...args]);
  await sh("ip", ["addr", "add", `${network.hostAddress}/30`, "dev", hostVeth]);
  await sh("ip", ["link", "set", hostVeth, "up"]);
  await inNs(["ip", "link", "set", "lo", "up"]);
  await inNs(["ip", "link", "set", `mcpw${slot}n`, "name", "eth0"]);
  await inNs(["ip", "addr", "add", `${network.nodeAddress}/30`, "dev", "eth0"]);
  await inNs(["ip", "link", "set", "eth0", "up"]);
  await inNs(["ip", "route", "add", "default", "via", network.hostAddress]);
  // Per-namespace: the node routes between its eth0 and the pods' bridge; bridged pod traffic passes
  // iptables so that Service replies between pods on the bridge are un-NATed.
  await inNs(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"]);
  for (const cidr of [network.podCidr, network.serviceCidr]) {
    await sh("ip", ["route", "add", cidr, "via", network.nodeAddress, "dev", hostVeth]);
  }
  await sh("nft", ["add", "table", "inet", network.nftTable]);
  await sh("nft", [
    "add",
    "chain",
    "inet",
    network.nftTable,
    "forward",
    "{ type filter hook forward priority -10 ; policy accept ; }",
  ]);
  await sh("nft", ["add", "rule", "inet", network.nftTable, "forward", "iifname", hostVeth, "drop"]);
  await sh("nft", ["add", "rule", "inet", network.nftTable, "forward", "oifname", hostVeth, "drop"]);
}

async function waitForNamespacedPid(pid: number, netnsFile: string): Promise<number> {
  const { statSync, readlinkSync } = await import("node:fs");
  const want = statSync(netnsFile).ino;
  for (let i = 0; i < 200; i++) {
    try {
      const link = readlinkSync(`/proc/${pid}/ns/net`); // net:[inode]
      if (link === `net:[${want}]`) return pid;
    } catch {
      // not there yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the process holding the node's network namespace did not enter it");
}

/** Removes what createNodeNetwork made; safe to call on a half-made or already removed network. */
export async function removeNodeNetwork(network: NodeNetwork): Promise<void> {
  await run("nft", ["delete", "table", "inet", network.nftTable]).catch(() => undefined);
  await run("umount", [network.netnsFile]).catch(() => undefined);
  // Gone with the namespace when the peer was moved in; otherwise both ends are still here.
  await run("ip", ["link", "delete", network.hostVeth]).catch(() => undefined);
}
