// Starting each control-plane component and knowing when it is ready. Ports are picked free just
// before the start; if another process takes one in between, the start is retried with new ports.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { CoreV1Api } from "@kubernetes/client-node";
import type { ControlPlaneBinaries } from "./binaries.ts";
import { apiServerFlags, commandLine, controllerManagerFlags, etcdFlags } from "./flags.ts";
import type { ApiServerFiles, ControllerManagerFiles, EtcdPorts, Flags } from "./flags.ts";
import { httpsGet } from "./https-get.ts";
import { ComponentProcess, lostPortRace } from "./processes.ts";
import { freePorts } from "../support/ports.ts";
import { waitUntilReady } from "./wait.ts";

const portAttempts = 3;

export interface StartedEtcd {
  process: ComponentProcess;
  ports: EtcdPorts;
}

export async function startEtcd(binaries: ControlPlaneBinaries, dir: string, timeoutMs: number): Promise<StartedEtcd> {
  for (let attempt = 1; ; attempt++) {
    const [client, peer] = await freePorts(2);
    const ports = { client: client!, peer: peer! };
    const etcd = ComponentProcess.spawn({
      name: "etcd",
      binary: binaries.etcd,
      args: commandLine(etcdFlags(dir, ports)),
      logFile: join(dir, "logs", "etcd.log"),
    });
    try {
      await waitUntilReady(() => etcdHealthy(ports.client), {
        description: "etcd /health",
        components: [etcd],
        timeoutMs,
      });
      etcd.supervise();
      return { process: etcd, ports };
    } catch (error) {
      await etcd.stop({ signal: "SIGKILL" });
      if (attempt >= portAttempts || !lostPortRace(etcd)) throw error;
      await rm(join(dir, "etcd"), { recursive: true, force: true }); // its member records the old peer URL
    }
  }
}

async function etcdHealthy(clientPort: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${clientPort}/health`, { signal: AbortSignal.timeout(2_000) });
  const body = (await response.json()) as { health?: string };
  return response.ok && body.health === "true";
}

export interface AdminTls {
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/** `/readyz` answers "ok" only when etcd is reachable and every post-start hook (RBAC bootstrap, …) has run. */
export async function apiServerReady(server: string, tls: AdminTls): Promise<boolean> {
  const response = await httpsGet(`${server}/readyz`, { ...tls, timeoutMs: 3_000 });
  return response.status === 200 && response.body.trim() === "ok";
}

export interface ApiServerLaunch {
  binaries: ControlPlaneBinaries;
  dir: string;
  etcdClientPort: number;
  files: ApiServerFiles;
  adminTls: AdminTls;
  overrides: Flags;
  timeoutMs: number;
  /** The etcd process, whose death explains an API server that does not get ready. */
  etcd: ComponentProcess;
  /** The address it listens on: 127.0.0.1, or the node network's host address (node-backed clusters). */
  host?: string;
}

export interface StartedApiServer {
  port: number;
  args: string[];
  process: ComponentProcess;
}

/** Starts the API server on a free port and waits for /readyz. */
export async function startApiServer(launch: ApiServerLaunch): Promise<StartedApiServer> {
  for (let attempt = 1; ; attempt++) {
    const [port] = (await freePorts(1)) as [number];
    const args = commandLine({
      ...apiServerFlags(launch.dir, port, launch.etcdClientPort, launch.files, launch.host),
      ...launch.overrides,
    });
    const apiServer = await launchApiServer(launch, port, args).catch((error: unknown) => {
      if (attempt < portAttempts && error instanceof PortTakenError) return undefined;
      throw error;
    });
    if (apiServer) return { port, args, process: apiServer };
  }
}

export class PortTakenError extends Error {}

/** Starts the API server with a known command line (first start or restart) and waits for /readyz. */
export async function launchApiServer(
  launch: ApiServerLaunch,
  port: number,
  args: string[],
): Promise<ComponentProcess> {
  const apiServer = ComponentProcess.spawn({
    name: "kube-apiserver",
    binary: launch.binaries.kubeApiServer,
    args,
    logFile: join(launch.dir, "logs", "kube-apiserver.log"),
  });
  try {
    await waitUntilReady(() => apiServerReady(`https://${launch.host ?? "127.0.0.1"}:${port}`, launch.adminTls), {
      description: `kube-apiserver /readyz on port ${port}`,
      components: [apiServer, launch.etcd],
      timeoutMs: launch.timeoutMs,
    });
    apiServer.supervise();
    return apiServer;
  } catch (error) {
    await apiServer.stop({ signal: "SIGKILL" });
    if (lostPortRace(apiServer))
      throw new PortTakenError(`port ${port} was taken by another process`, { cause: error });
    throw error;
  }
}

export interface ControllerManagerLaunch {
  binaries: ControlPlaneBinaries;
  dir: string;
  files: ControllerManagerFiles;
  overrides: Flags;
  timeoutMs: number;
  core: CoreV1Api;
  /** Components whose death explains a controller-manager that does not get ready. */
  dependencies: ComponentProcess[];
}

/** Starts the controller-manager and waits until its service-account controller has made `default/default`. */
export async function startControllerManager(launch: ControllerManagerLaunch): Promise<ComponentProcess> {
  const controllerManager = ComponentProcess.spawn({
    name: "kube-controller-manager",
    binary: launch.binaries.kubeControllerManager,
    args: commandLine({ ...controllerManagerFlags(launch.dir, launch.files), ...launch.overrides }),
    logFile: join(launch.dir, "logs", "kube-controller-manager.log"),
  });
  try {
    await waitUntilReady(
      async () => {
        await launch.core.readNamespacedServiceAccount({ namespace: "default", name: "default" });
        return true;
      },
      {
        description: "kube-controller-manager (the default ServiceAccount in namespace default)",
        components: [controllerManager, ...launch.dependencies],
        timeoutMs: launch.timeoutMs,
      },
    );
    controllerManager.supervise();
    return controllerManager;
  } catch (error) {
    await controllerManager.stop({ signal: "SIGKILL" });
    throw error;
  }
}
