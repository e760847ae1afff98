// A real node beside the test control plane: containerd (Debian's, with runc and the CNI bridge),
// kubelet and kube-proxy inside the node's network namespace (node-network.ts), kube-scheduler in the
// root namespace beside the API server. Every path the components write is under the cluster's dir,
// except the few that are hard-coded (host-state.ts), which are cleaned when the last node stops.
// The facts behind each setting: /work/shared/reference/real-node.md; decisions: ADR 210.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { CoreV1Api } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { ControlPlaneBinaries } from "./binaries.ts";
import type { ClusterPki } from "./cluster-pki.ts";
import { acquireHostState, releaseHostState } from "./host-state.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { removeNodeNetwork, sh } from "./node-network.ts";
import type { NodeNetwork } from "./node-network.ts";
import { ComponentProcess } from "./processes.ts";
import { waitUntilReady } from "./wait.ts";

const run = promisify(execFile);

/** The sandbox image every pod starts with; imported from images/pause before the kubelet starts. */
export const PAUSE_IMAGE = "registry.mcp-warden.test/pause:1";
export const CGROUP_ROOT = "/sys/fs/cgroup";

export interface NodeStartTimings {
  containerdMs: number;
  kubeletMs: number;
  kubeProxyMs: number;
  totalMs: number;
}

export interface NodeLaunch {
  label: string;
  binaries: ControlPlaneBinaries;
  dir: string;
  network: NodeNetwork;
  pki: ClusterPki;
  server: string;
  core: CoreV1Api;
  timeoutMs: number;
  /** OCI archives imported into containerd before the kubelet starts (the pause image at least). */
  images: string[];
  dependencies: ComponentProcess[];
}

export class ClusterNode {
  readonly name: string;
  readonly network: NodeNetwork;
  readonly dir: string;
  /** containerd's socket, for ctr (`ctr --address … -n k8s.io`). */
  readonly containerdSocket: string;
  readonly startup: NodeStartTimings;
  readonly components: ComponentProcess[];
  private readonly cgroupName: string;
  private stopping: Promise<void> | undefined;

  constructor(init: {
    name: string;
    network: NodeNetwork;
    dir: string;
    containerdSocket: string;
    startup: NodeStartTimings;
    components: ComponentProcess[];
    cgroupName: string;
  }) {
    this.name = init.name;
    this.network = init.network;
    this.dir = init.dir;
    this.containerdSocket = init.containerdSocket;
    this.startup = init.startup;
    this.components = init.components;
    this.cgroupName = init.cgroupName;
  }

  /** Runs ctr against this node's containerd, in the kubelet's namespace (k8s.io). */
  async ctr(args: string[]): Promise<string> {
    return await sh("ctr", ["--address", this.containerdSocket, "--namespace", "k8s.io", ...args]);
  }

  /** Imports an OCI archive (its io.containerd.image.name annotations name the images). */
  async importImage(archive: string): Promise<void> {
    await this.ctr(["images", "import", "--no-unpack", archive]);
  }

  /** Runs a command inside the node's network namespace (curl a pod IP, read iptables, …). */
  async inNetns(args: string[]): Promise<string> {
    return await sh("nsenter", [`--net=${this.network.netnsFile}`, ...args]);
  }

  /** The pids of every process in the node's pods (its cgroup tree), e.g. to find a container's process. */
  podProcesses(): number[] {
    return cgroupTasks(join(CGROUP_ROOT, "pids", this.cgroupName));
  }

  logTail(component: "containerd" | "kubelet" | "kube-proxy" | "kube-scheduler", lines = 40): string {
    return this.components.find((c) => c.name === component)?.logTail(lines) ?? `(no ${component})`;
  }

  /** Stops the node and removes everything it made on the host. Idempotent. */
  async stop(): Promise<void> {
    this.stopping ??= tearDownNode({
      dir: this.dir,
      network: this.network,
      cgroupName: this.cgroupName,
      containerdSocket: this.containerdSocket,
      components: this.components,
    });
    await this.stopping;
  }
}

export async function startNode(launch: NodeLaunch): Promise<ClusterNode> {
  const started = performance.now();
  const { dir, network, pki, label } = launch;
  const name = `node-${label}`.toLowerCase().slice(0, 50);
  const cgroupName = `mcpw-${network.slot}`;
  const nodeDir = join(dir, "node");
  const containerdSocket = join(nodeDir, "containerd", "containerd.sock");
  const components: ComponentProcess[] = [];
  const netns = ["nsenter", `--net=${network.netnsFile}`];
  await acquireHostState(dirKey(dir));
  try {
    for (const sub of ["containerd", "cni/net.d", "cni/ipam", "kubelet", "pod-logs", "volume-plugins", "runc", "pki"])
      mkdirSync(join(nodeDir, sub), { recursive: true });
    createCgroups(cgroupName);

    // Certificates of the node's components, from the cluster CA.
    const [kubeletClient, kubeletServing, kubeProxyClient, schedulerClient] = await Promise.all([
      pki.ca.issue({
        name: "kubelet-client",
        commonName: `system:node:${name}`,
        organizations: ["system:nodes"],
        usage: "client",
      }),
      pki.ca.issue({
        name: "kubelet-serving",
        commonName: name,
        usage: "server",
        dnsNames: [name],
        ipAddresses: [network.nodeAddress],
      }),
      pki.ca.issue({ name: "kube-proxy", commonName: "system:kube-proxy", usage: "client" }),
      pki.ca.issue({ name: "kube-scheduler", commonName: "system:kube-scheduler", usage: "client" }),
    ]);
    const kubeconfig = async (file: string, userName: string, cert: { certPem: string; keyPem: string }) => {
      const path = join(nodeDir, file);
      await writeKubeconfig(path, {
        server: launch.server,
        caPem: pki.ca.certPem,
        userName,
        user: { clientCertPem: cert.certPem, clientKeyPem: cert.keyPem },
      });
      return path;
    };

    // containerd
    const containerdStarted = performance.now();
    writeFileSync(join(nodeDir, "containerd", "config.toml"), containerdConfig(nodeDir, containerdSocket));
    writeFileSync(
      join(nodeDir, "cni", "net.d", "10-mcp-warden.conflist"),
      JSON.stringify(cniConfig(nodeDir, network), null, 2),
    );
    const containerd = ComponentProcess.spawn({
      name: "containerd",
      binary: "/usr/bin/containerd",
      wrapper: netns,
      args: ["--config", join(nodeDir, "containerd", "config.toml")],
      logFile: join(dir, "logs", "containerd.log"),
    });
    components.push(containerd);
    await waitUntilReady(
      async () => {
        if (!existsSync(containerdSocket)) return false;
        await run("ctr", ["--address", containerdSocket, "version"], { timeout: 5_000 });
        return true;
      },
      { description: "containerd's socket", components: [containerd], timeoutMs: launch.timeoutMs },
    );
    containerd.supervise();
    await Promise.all(
      launch.images.map((archive) =>
        sh("ctr", ["--address", containerdSocket, "--namespace", "k8s.io", "images", "import", "--no-unpack", archive]),
      ),
    );
    const containerdMs = performance.now() - containerdStarted;

    // kubelet
    const kubeletStarted = performance.now();
    const kubeletDir = join(nodeDir, "kubelet");
    writeFileSync(join(nodeDir, "resolv.conf"), "options ndots:1\n");
    const kubeletPki = join(nodeDir, "pki");
    copyFileSync(kubeletServing.certFile, join(kubeletPki, "kubelet.crt"));
    copyFileSync(kubeletServing.keyFile, join(kubeletPki, "kubelet.key"));
    writeFileSync(
      join(nodeDir, "kubelet-config.yaml"),
      stringify(kubeletConfig(nodeDir, network, containerdSocket, pki.ca.certFile, cgroupName)),
    );
    const kubelet = ComponentProcess.spawn({
      name: "kubelet",
      binary: launch.binaries.dir + "/kubelet",
      wrapper: netns,
      args: [
        `--config=${join(nodeDir, "kubelet-config.yaml")}`,
        `--kubeconfig=${await kubeconfig("kubelet.kubeconfig", `system:node:${name}`, kubeletClient)}`,
        `--root-dir=${kubeletDir}`,
        `--cert-dir=${kubeletPki}`,
        `--hostname-override=${name}`,
        `--node-ip=${network.nodeAddress}`,
        "--v=1",
      ],
      logFile: join(dir, "logs", "kubelet.log"),
    });
    components.push(kubelet);
    await waitUntilReady(
      async () => {
        const node = await launch.core.readNode({ name });
        return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
      },
      {
        description: `node ${name} Ready`,
        components: [kubelet, containerd, ...launch.dependencies],
        timeoutMs: launch.timeoutMs,
      },
    );
    kubelet.supervise();
    const kubeletMs = performance.now() - kubeletStarted;

    // kube-proxy, and the scheduler (which needs nothing of the node but its registration).
    const kubeProxyStarted = performance.now();
    writeFileSync(
      join(nodeDir, "kube-proxy.yaml"),
      stringify(
        kubeProxyConfig(network, name, await kubeconfig("kube-proxy.kubeconfig", "system:kube-proxy", kubeProxyClient)),
      ),
    );
    const kubeProxy = ComponentProcess.spawn({
      name: "kube-proxy",
      binary: launch.binaries.dir + "/kube-proxy",
      wrapper: netns,
      args: [`--config=${join(nodeDir, "kube-proxy.yaml")}`, "--v=1"],
      logFile: join(dir, "logs", "kube-proxy.log"),
    });
    components.push(kubeProxy);
    const scheduler = ComponentProcess.spawn({
      name: "kube-scheduler",
      binary: launch.binaries.dir + "/kube-scheduler",
      args: [
        `--kubeconfig=${await kubeconfig("kube-scheduler.kubeconfig", "system:kube-scheduler", schedulerClient)}`,
        "--leader-elect=false",
        "--secure-port=0",
        "--kube-api-qps=100",
        "--kube-api-burst=200",
      ],
      logFile: join(dir, "logs", "kube-scheduler.log"),
    });
    components.push(scheduler);
    await waitUntilReady(
      async () => {
        const response = await fetch(`http://${network.nodeAddress}:10256/healthz`, {
          signal: AbortSignal.timeout(2_000),
        });
        return response.ok;
      },
      {
        description: "kube-proxy /healthz",
        components: [kubeProxy, scheduler, kubelet, containerd],
        timeoutMs: launch.timeoutMs,
      },
    );
    kubeProxy.supervise();
    scheduler.supervise();
    const kubeProxyMs = performance.now() - kubeProxyStarted;
    return new ClusterNode({
      name,
      network,
      dir,
      containerdSocket,
      components,
      cgroupName,
      startup: { containerdMs, kubeletMs, kubeProxyMs, totalMs: performance.now() - started },
    });
  } catch (error) {
    await tearDownNode({ dir, network, cgroupName, containerdSocket, components });
    throw error;
  }
}

function dirKey(dir: string): string {
  return dir.split("/").at(-1)!;
}

/** The v1 hierarchies the kubelet and runc use (cgroupfs driver), and cgroup2's unified one. */
function hierarchies(): string[] {
  return readdirSync(CGROUP_ROOT).filter((entry) => existsSync(join(CGROUP_ROOT, entry, "cgroup.procs")));
}

function createCgroups(name: string): void {
  for (const hierarchy of hierarchies()) {
    const path = join(CGROUP_ROOT, hierarchy, name);
    mkdirSync(path, { recursive: true });
    if (hierarchy === "cpuset") {
      // A new cpuset has no cpus or mems until given its parent's.
      for (const file of ["cpuset.cpus", "cpuset.mems"])
        writeFileSync(join(path, file), readFileSync(join(CGROUP_ROOT, hierarchy, file), "utf8"));
    }
  }
}

function cgroupTasks(path: string): number[] {
  const pids: number[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
      pids.push(...readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number));
    } catch {
      return;
    }
    for (const entry of entries) walk(join(dir, entry));
  };
  walk(path);
  return pids;
}

function removeCgroupTree(path: string): void {
  let entries: string[];
  try {
    entries = readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return;
  }
  for (const entry of entries) removeCgroupTree(join(path, entry));
  try {
    rmdirSync(path);
  } catch {
    // still busy: the caller retries
  }
}

function containerdConfig(nodeDir: string, socket: string): string {
  const d = (sub: string) => JSON.stringify(join(nodeDir, sub));
  return `version = 2
root = ${d("containerd/root")}
state = ${d("containerd/state")}
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${JSON.stringify(socket)}

[ttrpc]
  address = ${JSON.stringify(`${socket}.ttrpc`)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${d("containerd/opt")}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(PAUSE_IMAGE)}
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${d("runc")}

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${d("cni/net.d")}
    max_conf_num = 1
`;
}

/** The network's name prefixes libcni's files in /var/lib/cni/results. */
export function cniNetworkName(network: NodeNetwork): string {
  return `mcp-warden-node-${network.slot}`;
}

function cniConfig(nodeDir: string, network: NodeNetwork): object {
  return {
    cniVersion: "0.4.0",
    name: cniNetworkName(network),
    plugins: [
      {
        type: "bridge",
        bridge: network.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: network.podCidr }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: join(nodeDir, "cni", "ipam"),
        },
      },
    ],
  };
}

function kubeletConfig(
  nodeDir: string,
  network: NodeNetwork,
  containerdSocket: string,
  caFile: string,
  cgroupName: string,
): object {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // cgroup v1 hierarchies here (cgroup2 only at /sys/fs/cgroup/unified): refused by default since 1.35.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    cgroupRoot: `/${cgroupName}`,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${containerdSocket}`,
    address: network.nodeAddress,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: network.nodeAddress,
    healthzPort: 10248,
    tlsCertFile: join(nodeDir, "pki", "kubelet.crt"),
    tlsPrivateKeyFile: join(nodeDir, "pki", "kubelet.key"),
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: caFile } },
    authorization: { mode: "Webhook" },
    podLogsDir: join(nodeDir, "pod-logs"),
    volumePluginDir: join(nodeDir, "volume-plugins"),
    resolvConf: join(nodeDir, "resolv.conf"),
    // No image garbage collection or disk-pressure eviction on a shared disk: the images are imported, not pulled.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      "memory.available": "1Mi",
      "nodefs.available": "0%",
      "nodefs.inodesFree": "0%",
      "imagefs.available": "0%",
    },
    serializeImagePulls: false,
    // Pods report status quickly (the defaults pace a one-node cluster).
    nodeStatusUpdateFrequency: "4s",
    syncFrequency: "10s",
    fileCheckFrequency: "20s",
    shutdownGracePeriod: "0s",
    maxPods: 60,
  };
}

function kubeProxyConfig(network: NodeNetwork, nodeName: string, kubeconfig: string): object {
  return {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig },
    mode: "iptables",
    hostnameOverride: nodeName,
    bindAddress: network.nodeAddress,
    healthzBindAddress: `${network.nodeAddress}:10256`,
    metricsBindAddress: `${network.nodeAddress}:10249`,
    clusterCIDR: network.podCidr,
    // Off the host's global sysctls (nf_conntrack_max and its timeouts).
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    iptables: { localhostNodePorts: false, masqueradeAll: false, syncPeriod: "30s", minSyncPeriod: "0s" },
    nodePortAddresses: [`${network.nodeAddress}/32`],
  };
}

export interface NodeTearDown {
  dir: string;
  network: NodeNetwork;
  cgroupName: string;
  containerdSocket: string;
  components: ComponentProcess[];
}

/** Shim processes of this node's containerd (found by the socket in their command line). */
function shimsOf(containerdSocket: string): { pid: number; socket: string | undefined }[] {
  const shims: { pid: number; socket: string | undefined }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (!args[0]?.endsWith("containerd-shim-runc-v2")) continue;
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    if (value("-address") !== containerdSocket) continue;
    const id = value("-id");
    const namespace = value("-namespace");
    // containerd 1.6 names the shim's socket after sha256(<address>/<namespace>/<id>).
    const socket =
      id && namespace
        ? join(
            "/run/containerd/s",
            createHash("sha256")
              .update(join(containerdSocket, namespace, id))
              .digest("hex"),
          )
        : undefined;
    shims.push({ pid: Number(entry), socket });
  }
  return shims;
}

/**
 * SIGTERM the components, SIGKILL what is left in the node's cgroups, stop containerd, SIGKILL its
 * shims (by pid), unmount everything under the dir, remove the cgroups, the network and the
 * hard-coded paths' entries of this node. Also used on a failed start and by the orphan reaper.
 */
export async function tearDownNode(node: NodeTearDown): Promise<void> {
  const { dir, network, cgroupName, containerdSocket, components } = node;
  const byName = (name: string) => components.find((c) => c.name === name);
  await Promise.all(
    ["kube-scheduler", "kube-proxy", "kubelet"].map(async (name) => await byName(name)?.stop({ graceMs: 3_000 })),
  );
  const killPods = () => {
    for (const pid of cgroupTasks(join(CGROUP_ROOT, "pids", cgroupName))) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  };
  killPods();
  const shims = shimsOf(containerdSocket);
  await byName("containerd")?.stop({ graceMs: 3_000 });
  for (const shim of shimsOf(containerdSocket)) shims.push(shim);
  for (const { pid } of shims) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  killPods();
  for (const { socket } of shims) if (socket) rmSync(socket, { force: true });
  await unmountUnder(dir);
  for (let attempt = 0; attempt < 50; attempt++) {
    killPods();
    for (const hierarchy of hierarchies()) removeCgroupTree(join(CGROUP_ROOT, hierarchy, cgroupName));
    if (!hierarchies().some((h) => existsSync(join(CGROUP_ROOT, h, cgroupName)))) break;
    await sleep(100);
  }
  await removeNodeNetwork(network);
  cleanSharedPaths(dir, network);
  await releaseHostState(dirKey(dir));
}

async function unmountUnder(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[4] ?? "")
      .map((path) => path.replace(/\\040/g, " "))
      .filter((path) => path === dir || path.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    if (mounts.length === 0) return;
    for (const path of mounts) await run("umount", ["-l", path]).catch(() => undefined);
  }
}

/** This node's entries in the hard-coded paths: libcni's results, the kubelet's log links. */
function cleanSharedPaths(dir: string, network: NodeNetwork): void {
  const results = "/var/lib/cni/results";
  if (existsSync(results)) {
    for (const entry of readdirSync(results))
      if (entry.startsWith(`${cniNetworkName(network)}-`)) rmSync(join(results, entry), { force: true });
  }
  const links = "/var/log/containers";
  if (existsSync(links)) {
    for (const entry of readdirSync(links)) {
      try {
        if (readlinkSync(join(links, entry)).startsWith(`${dir}/`)) rmSync(join(links, entry), { force: true });
      } catch {
        // not a link
      }
    }
  }
}
