// A real Kubernetes control plane for one test file: etcd, kube-apiserver and kube-controller-manager
// (the versions in versions.env, built by build-binaries.sh) on loopback, with their own CA,
// service-account issuer, RBAC and the admission plugins of a real cluster. No kubelet and no
// scheduler: Pods are stored and stay Pending, which is what admission and controller tests need.
//
//   const cluster = await startControlPlane({ name: "injector" });   // in before()
//   await cluster.kubectl(["apply", "-f", "-"], { input: manifest });
//   const core = cluster.client(CoreV1Api);
//   await cluster.stop();                                            // in after()
//
// See README.md in this folder for what runs, the figures and troubleshooting.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { findControlPlaneBinaries } from "./binaries.ts";
import { createClusterPki } from "./cluster-pki.ts";
import { startApiServer, startControllerManager, startEtcd } from "./components.ts";
import type { ApiServerLaunch } from "./components.ts";
import { ControlPlane } from "./control-plane.ts";
import type { StartupTimings } from "./control-plane.ts";
import type { Flags } from "./flags.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { pauseImage } from "./images/pause.ts";
import { startNode } from "./node.ts";
import type { ClusterNode } from "./node.ts";
import { createNodeNetwork, removeNodeNetwork } from "./node-network.ts";
import type { NodeNetwork } from "./node-network.ts";
import { reapOrphanedNode } from "./node-orphans.ts";
import { controlPlaneDirPrefix, reapOrphanedControlPlanes, recordOwnership } from "./orphans.ts";
import type { ComponentProcess } from "./processes.ts";

export { ControlPlane } from "./control-plane.ts";
export type { ComponentName, StartupTimings } from "./control-plane.ts";
export type { Credentials, ServiceAccountToken, ServiceAccountTokenOptions } from "./credentials.ts";
export { HelmError, KubectlError, ToolError } from "./cli-tools.ts";
export type { ToolOptions, ToolResult } from "./cli-tools.ts";
export type { PodServiceAccountVolume } from "./pod-identity.ts";
export type { MutatingWebhookOptions } from "./webhooks.ts";
export type { ClusterNode } from "./node.ts";

export interface ControlPlaneOptions {
  /** Names the temp dir and the log lines, e.g. the test file's subject. */
  name?: string;
  /** kube-apiserver flags (name without "--" → value) added to or replacing the defaults in flags.ts. */
  apiServerFlags?: Flags;
  controllerManagerFlags?: Flags;
  /** Per component; default 120 s (the machine is shared with other builds and suites). */
  startTimeoutMs?: number;
  /** Keep the temp dir (logs, certificates, etcd data) after stop(); also MCP_WARDEN_KEEP_CLUSTER=1. */
  keepDir?: boolean;
  /**
   * A node beside the control plane (kube-scheduler, containerd, kubelet, kube-proxy; node.ts), its
   * pods in a network namespace of the cluster's own. The API server then listens on the node
   * network's host address instead of 127.0.0.1. Use startNodeCluster() for the typed result.
   */
  node?: boolean;
  /** OCI archives to import into the node's containerd before the kubelet starts. */
  images?: string[];
}

/** A control plane with a node: pods run. */
export type NodeCluster = ControlPlane & { readonly node: ClusterNode };

export async function startNodeCluster(options: Omit<ControlPlaneOptions, "node"> = {}): Promise<NodeCluster> {
  return (await startControlPlane({ ...options, node: true })) as NodeCluster;
}

/**
 * Starts a control plane and resolves when it is usable: the API server ready and the controllers
 * running (the `default` ServiceAccount exists). Fails, never skips, when binaries are missing; on a
 * failed start, the error carries the component logs' tails and nothing is left running.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = performance.now();
  const binaries = findControlPlaneBinaries();
  for (const dir of reapOrphanedControlPlanes(tmpdir())) {
    await reapOrphanedNode(dir);
    process.stderr.write(`[cluster] reaped a control plane left running by a killed test process: ${dir}\n`);
  }
  const label = (options.name ?? "cluster").replace(/[^A-Za-z0-9-]/g, "-");
  const dir = await mkdtemp(join(tmpdir(), `${controlPlaneDirPrefix}${label}-`));
  await Promise.all(["pki", "logs", "credentials"].map((sub) => mkdir(join(dir, sub))));
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const keepDir = options.keepDir ?? process.env.MCP_WARDEN_KEEP_CLUSTER === "1";
  const components: ComponentProcess[] = [];
  const record = (component: ComponentProcess): void => {
    components.push(component);
    recordOwnership(dir, components);
  };
  let network: NodeNetwork | undefined;
  if (options.node) {
    await mkdir(join(dir, "node"));
    network = await createNodeNetwork(dir);
  }
  const host = network?.hostAddress ?? "127.0.0.1";
  // Certificates and etcd do not depend on each other.
  const pkiReady = createClusterPki(dir, network ? [network.hostAddress, network.kubernetesServiceIp] : []).then(
    async (pki) => {
      const kubeletClient = network
        ? await pki.ca.issue({
            name: "kube-apiserver-kubelet-client",
            commonName: "kube-apiserver-kubelet-client",
            organizations: ["system:masters"],
            usage: "client",
          })
        : undefined;
      return { pki, kubeletClient, ms: performance.now() - started };
    },
  );
  pkiReady.catch(() => undefined); // awaited below; handled now so a failure while etcd starts is not "unhandled"
  try {
    const etcdStarted = performance.now();
    const etcd = await startEtcd(binaries, dir, timeoutMs);
    record(etcd.process);
    const etcdMs = performance.now() - etcdStarted;
    const { pki, kubeletClient, ms: certificatesMs } = await pkiReady;
    const nodeFlags: Flags =
      network && kubeletClient
        ? {
            "service-cluster-ip-range": network.serviceCidr,
            "kubelet-client-certificate": kubeletClient.certFile,
            "kubelet-client-key": kubeletClient.keyFile,
            "kubelet-certificate-authority": pki.ca.certFile,
            "kubelet-preferred-address-types": "InternalIP",
          }
        : {};

    const apiServerStarted = performance.now();
    const apiServerLaunch: ApiServerLaunch = {
      binaries,
      dir,
      etcdClientPort: etcd.ports.client,
      files: {
        caCert: pki.ca.certFile,
        servingCert: pki.apiServerServing.certFile,
        servingKey: pki.apiServerServing.keyFile,
        serviceAccountPublicKey: pki.serviceAccountKey.publicKeyFile,
        serviceAccountPrivateKey: pki.serviceAccountKey.privateKeyFile,
      },
      adminTls: { caPem: pki.ca.certPem, clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem },
      overrides: { ...nodeFlags, ...options.apiServerFlags },
      timeoutMs,
      etcd: etcd.process,
      host,
    };
    const apiServer = await startApiServer(apiServerLaunch);
    record(apiServer.process);
    const server = `https://${host}:${apiServer.port}`;
    const kubeApiServerMs = performance.now() - apiServerStarted;

    const controllerManagerStarted = performance.now();
    const adminKubeconfigPath = join(dir, "admin.kubeconfig");
    const kubeConfig = await writeKubeconfig(adminKubeconfigPath, {
      server,
      caPem: pki.ca.certPem,
      userName: "admin",
      user: { clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem },
    });
    const controllerManagerKubeconfig = join(dir, "kube-controller-manager.kubeconfig");
    await writeKubeconfig(controllerManagerKubeconfig, {
      server,
      caPem: pki.ca.certPem,
      userName: "system:kube-controller-manager",
      user: { clientCertPem: pki.controllerManager.certPem, clientKeyPem: pki.controllerManager.keyPem },
    });
    const controllerManager = await startControllerManager({
      binaries,
      dir,
      files: {
        kubeconfig: controllerManagerKubeconfig,
        caCert: pki.ca.certFile,
        caKey: pki.ca.keyFile,
        serviceAccountPrivateKey: pki.serviceAccountKey.privateKeyFile,
      },
      overrides: options.controllerManagerFlags ?? {},
      timeoutMs,
      core: kubeConfig.makeApiClient(CoreV1Api),
      dependencies: [apiServer.process, etcd.process],
    });
    record(controllerManager);

    let node: ClusterNode | undefined;
    if (network) {
      node = await startNode({
        label,
        binaries,
        dir,
        network,
        pki,
        server,
        core: kubeConfig.makeApiClient(CoreV1Api),
        timeoutMs,
        images: [await pauseImage(), ...(options.images ?? [])],
        dependencies: [apiServer.process, etcd.process, controllerManager],
      });
      for (const component of node.components) record(component);
      network = undefined; // the node owns it now
    }

    const startup: StartupTimings = {
      certificatesMs,
      etcdMs,
      kubeApiServerMs,
      kubeControllerManagerMs: performance.now() - controllerManagerStarted - (node?.startup.totalMs ?? 0),
      ...(node ? { node: node.startup } : {}),
      totalMs: performance.now() - started,
    };
    process.stderr.write(`[cluster] ${label}: ${describeStartup(startup)}; ${server}, logs in ${join(dir, "logs")}\n`);
    return new ControlPlane({
      label,
      binaries,
      dir,
      keepDir,
      server,
      etcdUrl: `http://127.0.0.1:${etcd.ports.client}`,
      adminKubeconfigPath,
      kubeConfig,
      pki,
      startup,
      apiServerLaunch,
      apiServerPort: apiServer.port,
      apiServerArgs: apiServer.args,
      etcd: etcd.process,
      apiServer: apiServer.process,
      controllerManager,
      node,
    });
  } catch (error) {
    await Promise.all([
      ...components.reverse().map((component) => component.stop({ signal: "SIGKILL" })),
      pkiReady.catch(() => undefined), // let it settle before its dir is removed
    ]);
    if (network) await removeNodeNetwork(network);
    if (keepDir) {
      await rm(join(dir, "owner.json"), { force: true }); // nothing left to reap; keep it for reading
      process.stderr.write(`[cluster] ${label}: start failed; kept ${dir}\n`);
    } else {
      await rm(dir, { recursive: true, force: true });
    }
    throw error;
  }
}

export function describeStartup(timings: StartupTimings): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const node = timings.node
    ? `, node ${s(timings.node.totalMs)}: containerd ${s(timings.node.containerdMs)}, kubelet to Ready ${s(timings.node.kubeletMs)}, kube-proxy ${s(timings.node.kubeProxyMs)}`
    : "";
  return (
    `${timings.node ? "node-backed cluster" : "control plane"} ready in ${s(timings.totalMs)} (certificates ${s(timings.certificatesMs)}, etcd ${s(timings.etcdMs)}, ` +
    `kube-apiserver ${s(timings.kubeApiServerMs)}, kube-controller-manager ${s(timings.kubeControllerManagerMs)}${node})`
  );
}
