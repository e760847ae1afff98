// The operator as users run it, `mcp-warden operator`, as a local process against a test control
// plane: its own process group, its log in the control plane's logs/ dir, killed with the cluster's
// other components if the test process dies. Resolves once its /readyz answers 200 (policy cache
// synced, webhook certificate loaded, webhook listening).
import { join } from "node:path";
import type { OperatorOptions } from "../../operator/operator.ts";
import type { ControlPlane } from "./control-plane.ts";
import { REPOSITORY_ROOT, type McpWardenInstallation } from "./install.ts";
import { ComponentProcess, lostPortRace, type ExitStatus } from "./processes.ts";
import { freePorts } from "../support/ports.ts";
import { waitUntilReady } from "./wait.ts";
import { metricValue } from "../support/metrics.ts";

export const MCP_WARDEN_CLI = join(REPOSITORY_ROOT, "cli", "mcp-warden.ts");
export const TEST_SIDECAR_IMAGE = "ghcr.io/mcp-warden/mcp-warden:0.1.0";

/**
 * startOperator's options for an operator running inside the test process (when a test needs its
 * internals: timings of seconds, a logger): the installation's names and credentials, the webhook on
 * a loopback port the webhook configuration names by URL, no shutdown delay. Callers add the rest.
 */
export function inProcessOperatorOptions(
  installation: McpWardenInstallation,
  o: { identity: string; webhookPort: number },
): OperatorOptions {
  const { names, operatorCredentials } = installation;
  return {
    kubeConfig: operatorCredentials.kubeConfig,
    namespace: names.namespace,
    identity: o.identity,
    sidecarImage: TEST_SIDECAR_IMAGE,
    webhookListen: { host: "127.0.0.1", port: o.webhookPort },
    adminListen: { host: "127.0.0.1", port: 0 },
    webhookService: names.name,
    extraHosts: ["127.0.0.1"],
    webhookConfiguration: names.webhookConfiguration,
    webhookSecret: names.webhookSecret,
    certificateSource: "self",
    leaseName: names.name,
    shutdownDelayMs: 0,
    version: "test",
  };
}

export interface OperatorProcessOptions {
  /** The replica's name (POD_NAME): its Lease identity and Events' reportingInstance. */
  identity: string;
  /** The operator's namespace (POD_NAMESPACE). */
  namespace: string;
  kubeconfigPath: string;
  /** Fixed ports, e.g. to restart on the URL the webhook configuration names; default: free ones. */
  webhookPort?: number;
  adminPort?: number;
  /** --shutdown-delay in seconds (default 0: nothing routes to a local process by Service). */
  shutdownDelaySeconds?: number;
  extraArgs?: string[];
}

export class OperatorProcess {
  readonly identity: string;
  readonly webhookPort: number;
  readonly adminPort: number;
  readonly process: ComponentProcess;

  constructor(identity: string, webhookPort: number, adminPort: number, process: ComponentProcess) {
    this.identity = identity;
    this.webhookPort = webhookPort;
    this.adminPort = adminPort;
    this.process = process;
  }

  get webhookUrl(): string {
    return `https://127.0.0.1:${this.webhookPort}/mutate-pods`;
  }

  get running(): boolean {
    return this.process.running;
  }

  async metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.adminPort}/metrics`);
    return await response.text();
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    return metricValue(await this.metrics(), name, labels);
  }

  /** SIGTERM: the graceful shutdown (readiness off, lease released, servers closed); SIGKILL: a crash. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<ExitStatus> {
    return await this.process.stop({ signal, graceMs: 20_000 });
  }

  logTail(lines = 40): string {
    return this.process.logTail(lines);
  }
}

export async function startOperatorProcess(
  cluster: ControlPlane,
  options: OperatorProcessOptions,
): Promise<OperatorProcess> {
  const fixedPorts = options.webhookPort !== undefined || options.adminPort !== undefined;
  for (let attempt = 1; ; attempt++) {
    const [freeWebhook, freeAdmin] = (await freePorts(2)) as [number, number];
    const webhookPort = options.webhookPort ?? freeWebhook;
    const adminPort = options.adminPort ?? freeAdmin;
    const component = ComponentProcess.spawn({
      name: `mcp-warden operator ${options.identity}`,
      binary: process.execPath,
      args: [
        MCP_WARDEN_CLI,
        "operator",
        "--kubeconfig",
        options.kubeconfigPath,
        "--sidecar-image",
        TEST_SIDECAR_IMAGE,
        "--webhook-listen",
        `127.0.0.1:${webhookPort}`,
        "--admin-listen",
        `127.0.0.1:${adminPort}`,
        // The API server reaches a local operator by IP, so the serving certificate must name it.
        "--webhook-host",
        "127.0.0.1",
        "--shutdown-delay",
        String(options.shutdownDelaySeconds ?? 0),
        "--log-level",
        "debug",
        ...(options.extraArgs ?? []),
      ],
      logFile: join(cluster.dir, "logs", `operator-${options.identity}.log`),
      env: { ...process.env, POD_NAME: options.identity, POD_NAMESPACE: options.namespace },
    });
    try {
      await waitUntilReady(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200, {
        description: `mcp-warden operator ${options.identity} /readyz`,
        components: [component],
        timeoutMs: 60_000,
      });
      component.supervise();
      return new OperatorProcess(options.identity, webhookPort, adminPort, component);
    } catch (error) {
      await component.stop({ signal: "SIGKILL" });
      if (!fixedPorts && attempt < 3 && lostPortRace(component)) continue;
      throw error;
    }
  }
}
