// How long a test control plane takes to start, restart its API server and stop, with the
// harness's controller-manager client rate limit (100 qps) side by side with the upstream default
// (20 qps), interleaved so that load from other work on the machine hits both alike.
// Prints medians (min–max) and the ratio; never passes or fails. BENCH_RUNS sets the runs (default 5).
import { startControlPlane } from "../test/cluster/harness.ts";
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
    const cluster = await startControlPlane({ name: "bench", controllerManagerFlags: configuration.controllerManagerFlags });
    let mark = performance.now();
    await cluster.stopApiServer();
    const apiServerStopMs = performance.now() - mark;
    mark = performance.now();
    await cluster.startApiServer();
    const apiServerStartMs = performance.now() - mark;
    mark = performance.now();
    await cluster.stop();
    samples[index]!.push({ ...cluster.startup, apiServerStopMs, apiServerStartMs, teardownMs: performance.now() - mark });
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
console.log(`\ntest control plane, ${runs} runs per column, median (min–max)`);
console.log(["phase".padEnd(width), ...configurations.map((c) => c.label.padEnd(30))].join(""));
for (const [name, key] of phases) {
  console.log([name.padEnd(width), ...samples.map((column) => cell(column.map((sample) => sample[key])).padEnd(30))].join(""));
}
const [tuned, upstream] = samples.map((column) => median(column.map((sample) => sample.totalMs)));
console.log(`\ntotal start, upstream default / harness flags: ×${(upstream! / tuned!).toFixed(2)}`);
