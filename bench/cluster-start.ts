// How long a test control plane takes to start, restart its API server and stop, with the
// harness's controller-manager client rate limit (100 qps) side by side with the upstream default
// (20 qps), interleaved so that load from other work on the machine hits both alike.
// Prints medians (min–max) and the ratio; never passes or fails. BENCH_RUNS sets the runs (default 5).
// Then node-backed clusters (startNodeCluster: kube-scheduler, containerd, kubelet, kube-proxy in a
// network namespace), BENCH_NODE_RUNS of them (default 3): the first is cold (a fresh containerd, the
// pause image built if it is not cached), each reports its phases, a pod's create → Ready and the
// teardown (which also restores the host). BENCH_RUNS=0 runs only those.
import { CoreV1Api } from "@kubernetes/client-node";
import { startControlPlane, startNodeCluster } from "../test/cluster/harness.ts";
import { agentImageArchive, AGENT_IMAGE } from "../test/cluster/images/images.ts";
import { agentPod, waitForPodReady } from "../test/cluster/pods.ts";
import type { StartupTimings } from "../test/cluster/harness.ts";

const runs = Number(process.env.BENCH_RUNS ?? 5);
const configurations: { label: string; controllerManagerFlags: Record<string, string> }[] = [
  { label: "harness flags (100 qps)", controllerManagerFlags: {} },
  { label: "upstream default (20 qps)", controllerManagerFlags: { "kube-api-qps": "20", "kube-api-burst": "30" } },
];

interface Sample extends StartupTimings {
  apiServerStopMs: number;
  apiServerStartMs: number;
  teardownMs: number;
}

const samples: Sample[][] = configurations.map(() => []);
for (let run = 0; run < runs; run++) {
  for (const [index, configuration] of configurations.entries()) {
    const cluster = await startControlPlane({
      name: "bench",
      controllerManagerFlags: configuration.controllerManagerFlags,
    });
    let mark = performance.now();
    await cluster.stopApiServer();
    const apiServerStopMs = performance.now() - mark;
    mark = performance.now();
    await cluster.startApiServer();
    const apiServerStartMs = performance.now() - mark;
    mark = performance.now();
    await cluster.stop();
    samples[index]!.push({
      ...cluster.startup,
      apiServerStopMs,
      apiServerStartMs,
      teardownMs: performance.now() - mark,
    });
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const cell = (values: number[]): string => `${s(median(values))} (${s(Math.min(...values))}–${s(Math.max(...values))})`;

const phases: [string, Exclude<keyof Sample, "node">][] = [
  ["certificates", "certificatesMs"],
  ["etcd ready", "etcdMs"],
  ["kube-apiserver ready", "kubeApiServerMs"],
  ["kube-controller-manager ready", "kubeControllerManagerMs"],
  ["total start", "totalMs"],
  ["kube-apiserver stop (SIGTERM)", "apiServerStopMs"],
  ["kube-apiserver restart", "apiServerStartMs"],
  ["teardown", "teardownMs"],
];
const width = 32;
if (runs > 0) {
  console.log(`\ntest control plane, ${runs} runs per column, median (min–max)`);
  console.log(["phase".padEnd(width), ...configurations.map((c) => c.label.padEnd(30))].join(""));
  for (const [name, key] of phases) {
    console.log(
      [name.padEnd(width), ...samples.map((column) => cell(column.map((sample) => sample[key])).padEnd(30))].join(""),
    );
  }
}
if (runs > 0) {
  const [tuned, upstream] = samples.map((column) => median(column.map((sample) => sample.totalMs)));
  console.log(`\ntotal start, upstream default / harness flags: ×${(upstream! / tuned!).toFixed(2)}`);
}

const nodeRuns = Number(process.env.BENCH_NODE_RUNS ?? 3);
const agentArchive = await agentImageArchive();
const nodeRows: Record<string, number[]> = {};
const add = (name: string, value: number) => (nodeRows[name] ??= []).push(value);
for (let run = 0; run < nodeRuns; run++) {
  const cluster = await startNodeCluster({ name: "bench-node", images: [agentArchive] });
  const node = cluster.startup.node!;
  add("control plane (PKI → controller-manager)", cluster.startup.totalMs - node.totalMs);
  add("containerd (+ image import)", node.containerdMs);
  add("kubelet → node Ready", node.kubeletMs);
  add("kube-proxy healthy", node.kubeProxyMs);
  add("total start (node-backed)", cluster.startup.totalMs);
  const core = cluster.client(CoreV1Api);
  await cluster.createNamespace("bench");
  const podStarted = performance.now();
  await core.createNamespacedPod({ namespace: "bench", body: agentPod("agent", AGENT_IMAGE) });
  await waitForPodReady(core, "bench", "agent");
  add("pod create → Ready (agent image)", performance.now() - podStarted);
  const stopStarted = performance.now();
  await cluster.stop();
  add("teardown (host restored)", performance.now() - stopStarted);
  console.log(
    `node-backed run ${run + 1}${run === 0 ? " (cold)" : ""}: start ${s(cluster.startup.totalMs)}, teardown ${s(nodeRows["teardown (host restored)"]!.at(-1)!)}`,
  );
}
if (nodeRuns > 0) {
  console.log(`\nnode-backed cluster, ${nodeRuns} runs (the first cold), first run | median (min–max)`);
  for (const [name, values] of Object.entries(nodeRows))
    console.log(`${name.padEnd(44)}${s(values[0]!).padEnd(10)}${cell(values)}`);
}
