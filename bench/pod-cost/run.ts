// What mcp-warden costs a pod, on a real node (test/cluster startNodeCluster) with the chart installed:
// - pod create → Ready for the Kestra image with and without injection (BENCH_PODS each, default 3);
// - the sidecar container's memory from its cgroup (usage and working set: usage − inactive file),
//   idle and under load, against the requests and limit the injector gives it (the chart's defaults);
// - CPU per 1,000 calls in the sidecar container (cpuacct), calls through the Kestra Service from the
//   test process with BENCH_CONCURRENCY sessions (default 8), BENCH_CALLS calls (default 3000).
// Prints figures; never passes or fails.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { SIDECAR_CONTAINER } from "../../operator/names.ts";
import { startNodeCluster } from "../../test/cluster/harness.ts";
import { agentImageArchive, kestraImageArchive, projectImageArchive } from "../../test/cluster/images/images.ts";
import {
  AGENT_SA,
  AGENTS,
  CALLERS,
  installChart,
  KESTRA_SERVICE,
  kestraDeployment,
  OPERATOR_NS,
  RESTRICTED,
  seedPolicy,
  serviceClient,
  yamlDocs,
} from "../../test/cluster/node-e2e/fixture.ts";
import { waitForPodReady } from "../../test/cluster/pods.ts";

const pods = Number(process.env.BENCH_PODS ?? 3);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const calls = Number(process.env.BENCH_CALLS ?? 3000);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const cluster = await startNodeCluster({
  name: "pod-cost",
  images: [await projectImageArchive(), await kestraImageArchive(), await agentImageArchive()],
});
try {
  const core = cluster.client(CoreV1Api);
  await cluster.createNamespace(OPERATOR_NS, { labels: RESTRICTED });
  await cluster.createNamespace(AGENTS, { labels: { ...RESTRICTED, "mcpwarden.io/injection": "enabled" } });
  await cluster.createNamespace("plain", { labels: RESTRICTED });
  await cluster.createNamespace(CALLERS, { labels: RESTRICTED });
  await core.createNamespacedServiceAccount({ namespace: CALLERS, body: { metadata: { name: AGENT_SA } } });
  await installChart(cluster);
  await cluster.kubectl(["apply", "-f", "-"], { input: await seedPolicy("resume", { default: "allow" }) });

  const template = kestraDeployment().spec!.template;
  // Without mcp-warden, Kestra's server is run as teams run it today (examples/kestra/deployment.yaml):
  // FastMCP's HTTP transport on the pod's port, probed there.
  const plainSpec = structuredClone(template.spec!);
  const server = plainSpec.containers[0]!;
  server.command = [
    "fastmcp",
    "run",
    "src/server.py:mcp",
    "--transport",
    "http",
    "--host",
    "0.0.0.0",
    "--port",
    "8000",
  ];
  server.readinessProbe = {
    ...server.readinessProbe,
    exec: { command: ["python", "-c", 'import socket; socket.create_connection(("127.0.0.1", 8000), 1)'] },
  };
  const createReady = async (namespace: string, name: string) => {
    const started = performance.now();
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: template.metadata!.labels },
        spec: namespace === "plain" ? plainSpec : template.spec!,
      },
    });
    await waitForPodReady(core, namespace, name, 180_000);
    return performance.now() - started;
  };
  const plain: number[] = [];
  const injected: number[] = [];
  // Interleaved, so that load from elsewhere hits both alike; the first pod of each warms the image.
  await createReady("plain", "warm");
  for (let i = 0; i < pods; i++) {
    plain.push(await createReady("plain", `kestra-${i}`));
    injected.push(await createReady(AGENTS, `kestra-${i}`));
  }
  console.log(`\npod create → Ready, ${pods} pods each, median (all)`);
  console.log(`  without injection: ${s(median(plain))} (${plain.map(s).join(", ")})`);
  console.log(`  with the sidecar:  ${s(median(injected))} (${injected.map(s).join(", ")})`);
  for (let i = 1; i < pods; i++)
    await core.deleteNamespacedPod({ namespace: AGENTS, name: `kestra-${i}`, gracePeriodSeconds: 0 });

  // The sidecar container of kestra-0, behind a Service of its own.
  await cluster.kubectl(["apply", "-f", "-"], { input: yamlDocs({ ...KESTRA_SERVICE }) });
  const pod = await core.readNamespacedPod({ namespace: AGENTS, name: "kestra-0" });
  const sidecarSpec = pod.spec!.initContainers!.find((c) => c.name === SIDECAR_CONTAINER)!;
  const containerId = pod
    .status!.initContainerStatuses!.find((c) => c.name === SIDECAR_CONTAINER)!
    .containerID!.replace("containerd://", "");
  const find = (root: string): string => {
    for (const entry of readdirSync(root)) {
      const path = join(root, entry);
      if (!statSync(path).isDirectory()) continue;
      if (entry === containerId) return path;
      const found = find(path);
      if (found) return found;
    }
    return "";
  };
  const slot = `mcpw-${cluster.node.network.slot}`;
  const memoryDir = find(join("/sys/fs/cgroup/memory", slot));
  const cpuDir = find(join("/sys/fs/cgroup/cpuacct", slot));
  const memory = () => {
    const usage = Number(readFileSync(join(memoryDir, "memory.usage_in_bytes"), "utf8"));
    const stat: Record<string, string> = Object.fromEntries(
      readFileSync(join(memoryDir, "memory.stat"), "utf8")
        .trim()
        .split("\n")
        .map((line) => line.split(" ") as [string, string]),
    );
    return { usage, workingSet: usage - Number(stat.total_inactive_file ?? 0), rss: Number(stat.total_rss ?? 0) };
  };
  const cpuNs = () => Number(readFileSync(join(cpuDir, "cpuacct.usage"), "utf8"));

  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const idle = memory();
  const service = await core.readNamespacedService({ namespace: AGENTS, name: "kestra-mcp" });
  const clients = await Promise.all(
    Array.from({ length: concurrency }, () => serviceClient(cluster, service.spec!.clusterIP!)),
  );
  let peak = idle;
  const sampler = setInterval(() => {
    const now = memory();
    if (now.workingSet > peak.workingSet) peak = now;
  }, 200);
  const cpuBefore = cpuNs();
  const started = performance.now();
  let next = 0;
  // list_namespaces: allowed (default allow), answered by Kestra without a rate limit.
  await Promise.all(
    clients.map(async (client) => {
      while (next < calls) {
        next++;
        await client.callTool({ name: "list_namespaces", arguments: {} });
      }
    }),
  );
  const elapsed = performance.now() - started;
  const cpu = (cpuNs() - cpuBefore) / 1e9;
  clearInterval(sampler);
  const loaded = memory();
  await Promise.all(clients.map(async (client) => await client.close()));
  console.log(`\nsidecar container (cgroup ${memoryDir.replace(/.*kubepods/, "kubepods")})`);
  console.log(
    `  requests ${JSON.stringify(sidecarSpec.resources?.requests)}, limits ${JSON.stringify(sidecarSpec.resources?.limits)}`,
  );
  console.log(`  idle:       usage ${mib(idle.usage)}, working set ${mib(idle.workingSet)}, rss ${mib(idle.rss)}`);
  console.log(
    `  under load: peak working set ${mib(peak.workingSet)} (rss ${mib(peak.rss)}), after ${mib(loaded.workingSet)}`,
  );
  console.log(
    `  ${calls} calls, ${concurrency} sessions, in ${s(elapsed)} (${(calls / (elapsed / 1000)).toFixed(0)} calls/s): ` +
      `CPU ${cpu.toFixed(2)} s in the sidecar = ${((cpu / calls) * 1000).toFixed(2)} CPU-s per 1,000 calls`,
  );
} finally {
  await cluster.stop();
}
