// A running test control plane and what tests do with it. startControlPlane() in harness.ts makes one.
import { mkdtemp, rm } from "node:fs/promises";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { AdmissionregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
import type {
  ApiConstructor,
  ApiType,
  KubeConfig,
  V1MutatingWebhookConfiguration,
  V1Namespace,
} from "@kubernetes/client-node";
import type { ControlPlaneBinaries } from "./binaries.ts";
import type { ClusterPki } from "./cluster-pki.ts";
import { launchApiServer, PortTakenError } from "./components.ts";
import type { ApiServerLaunch } from "./components.ts";
import { requestServiceAccountToken, serviceAccountCredentials, userCredentials } from "./credentials.ts";
import type { CredentialContext, Credentials, ServiceAccountToken, ServiceAccountTokenOptions } from "./credentials.ts";
import { runHelm, runKubectl } from "./cli-tools.ts";
import type { ToolContext, ToolOptions, ToolResult } from "./cli-tools.ts";
import { createNamespace } from "./namespaces.ts";
import type { NamespaceOptions } from "./namespaces.ts";
import { recordOwnership } from "./orphans.ts";
import { writePodServiceAccountVolume } from "./pod-identity.ts";
import type { PodServiceAccountVolume } from "./pod-identity.ts";
import type { ClusterNode, NodeStartTimings } from "./node.ts";
import type { IssuedCertificate } from "./pki.ts";
import type { ComponentProcess } from "./processes.ts";
import { registerMutatingWebhook } from "./webhooks.ts";
import type { MutatingWebhookOptions } from "./webhooks.ts";
import { eventually } from "../support/eventually.ts";

export interface StartupTimings {
  certificatesMs: number;
  etcdMs: number;
  kubeApiServerMs: number;
  kubeControllerManagerMs: number;
  /** Node-backed clusters: containerd, kubelet (to node Ready) and kube-proxy. */
  node?: NodeStartTimings;
  totalMs: number;
}

export type ComponentName = "etcd" | "kube-apiserver" | "kube-controller-manager";

export interface ControlPlaneState {
  label: string;
  binaries: ControlPlaneBinaries;
  dir: string;
  keepDir: boolean;
  server: string;
  etcdUrl: string;
  adminKubeconfigPath: string;
  kubeConfig: KubeConfig;
  pki: ClusterPki;
  startup: StartupTimings;
  /** How the API server was started, to start it again the same way (same port, same flags). */
  apiServerLaunch: ApiServerLaunch;
  apiServerPort: number;
  apiServerArgs: string[];
  etcd: ComponentProcess;
  apiServer: ComponentProcess;
  controllerManager: ComponentProcess;
  node?: ClusterNode | undefined;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export class ControlPlane {
  /** The API server's URL, https://127.0.0.1:<port>; the same across stopApiServer()/startApiServer(). */
  readonly server: string;
  /** The service-account token issuer (`iss`), which serves /.well-known/openid-configuration. */
  readonly issuer: string;
  /** etcd's client URL (plain HTTP on loopback), for checks below the API server. */
  readonly etcdUrl: string;
  /** The cluster CA: it signed the API server's serving certificate and every client certificate. */
  readonly caPem: string;
  readonly caFile: string;
  /** A kubeconfig for an admin (client certificate in system:masters), for kubectl, helm or a local operator. */
  readonly adminKubeconfigPath: string;
  /** The same admin identity, loaded for @kubernetes/client-node. */
  readonly kubeConfig: KubeConfig;
  readonly binaries: ControlPlaneBinaries;
  /** The temp dir holding logs/, pki/, credentials/ and the etcd data. */
  readonly dir: string;
  readonly startup: StartupTimings;
  /** The node (kubelet, containerd, kube-proxy, scheduler) of a node-backed cluster. */
  readonly node: ClusterNode | undefined;
  private readonly state: ControlPlaneState;
  private stopping: Promise<void> | undefined;

  constructor(state: ControlPlaneState) {
    this.state = state;
    this.server = state.server;
    this.issuer = state.server;
    this.etcdUrl = state.etcdUrl;
    this.caPem = state.pki.ca.certPem;
    this.caFile = state.pki.ca.certFile;
    this.adminKubeconfigPath = state.adminKubeconfigPath;
    this.kubeConfig = state.kubeConfig;
    this.binaries = state.binaries;
    this.dir = state.dir;
    this.startup = state.startup;
    this.node = state.node;
  }

  /** An API client as the admin, e.g. cluster.client(CoreV1Api). */
  client<T extends ApiType>(api: ApiConstructor<T>): T {
    return this.kubeConfig.makeApiClient(api);
  }

  /** Runs the kubectl of the same version, as the admin (or as options.kubeconfig's user); rejects with KubectlError. */
  async kubectl(args: string[], options: ToolOptions = {}): Promise<ToolResult> {
    return await runKubectl(this.toolContext(), args, options);
  }

  /**
   * Waits until each CRD is Established. Not `kubectl wait`: it fails at once, instead of waiting, on
   * a CRD whose status has no conditions yet (right after it was created).
   */
  async waitForCrds(names: string[], timeoutMs = 60_000): Promise<void> {
    await eventually(
      async () => {
        for (const name of names) {
          const { stdout } = await this.kubectl([
            "get",
            `crd/${name}`,
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Established")].status}',
          ]);
          if (stdout.trim() !== "True") throw new Error(`crd/${name} is not Established yet`);
        }
      },
      { timeoutMs },
    );
  }

  /** Runs helm against the cluster, as the admin (or as options.kubeconfig's user); rejects with HelmError. */
  async helm(args: string[], options: ToolOptions = {}): Promise<ToolResult> {
    return await runHelm(this.toolContext(), args, options);
  }

  /** Creates a labelled namespace and (by default) waits for its `default` ServiceAccount. */
  async createNamespace(name: string, options: NamespaceOptions = {}): Promise<V1Namespace> {
    return await createNamespace(this.client(CoreV1Api), name, options);
  }

  /** A token from the TokenRequest API, as the kubelet would project it into a pod. */
  async requestServiceAccountToken(
    namespace: string,
    serviceAccount: string,
    options: ServiceAccountTokenOptions = {},
  ): Promise<ServiceAccountToken> {
    return await requestServiceAccountToken(this.client(CoreV1Api), namespace, serviceAccount, options);
  }

  /** A kubeconfig for a plain user (client certificate): no permissions until a test binds some. */
  async userCredentials(userName: string, groups: string[] = []): Promise<Credentials> {
    return await userCredentials(this.credentialContext(), userName, groups);
  }

  /** A kubeconfig that authenticates as the service account with a TokenRequest token. */
  async serviceAccountCredentials(
    namespace: string,
    serviceAccount: string,
    expirationSeconds?: number,
  ): Promise<Credentials> {
    return await serviceAccountCredentials(
      this.credentialContext(),
      this.client(CoreV1Api),
      namespace,
      serviceAccount,
      expirationSeconds,
    );
  }

  /**
   * The files and environment the kubelet would give the pod's containers to reach the API (token
   * bound to the pod, ca.crt, namespace), for running a process such as the sidecar as that pod.
   */
  async podServiceAccountVolume(
    namespace: string,
    podName: string,
    options: { expirationSeconds?: number } = {},
  ): Promise<PodServiceAccountVolume> {
    const pathPrefix = await mkdtemp(join(this.dir, "credentials", `pod-${namespace}-${podName}-`));
    return await writePodServiceAccountVolume(
      { core: this.client(CoreV1Api), server: this.server, caPem: this.caPem, pathPrefix },
      namespace,
      podName,
      options,
    );
  }

  /**
   * A serving certificate for a local webhook server, from a CA of its own (not the cluster CA);
   * pass its caPem to registerMutatingWebhook(). Defaults to 127.0.0.1 and localhost.
   */
  async issueServingCertificate(
    name: string,
    names: { dnsNames?: string[]; ipAddresses?: string[] } = {},
  ): Promise<IssuedCertificate & { caPem: string }> {
    const { webhookCa } = this.state.pki;
    const certificate = await webhookCa.issue({
      name: `serving-${name}`,
      commonName: name,
      usage: "server",
      dnsNames: names.dnsNames ?? ["localhost"],
      ipAddresses: names.ipAddresses ?? ["127.0.0.1"],
    });
    return { ...certificate, caPem: webhookCa.certPem };
  }

  /** Registers a URL-addressed mutating webhook (defaults in webhooks.ts). */
  async registerMutatingWebhook(options: MutatingWebhookOptions): Promise<V1MutatingWebhookConfiguration> {
    return await registerMutatingWebhook(this.client(AdmissionregistrationV1Api), options);
  }

  get apiServerRunning(): boolean {
    return this.state.apiServer.running;
  }

  /**
   * Stops the API server alone (etcd keeps the data, the controller-manager keeps retrying).
   * SIGTERM is its graceful shutdown (watches closed within 2 s); SIGKILL, a crash.
   */
  async stopApiServer(options: { signal?: "SIGTERM" | "SIGKILL" } = {}): Promise<void> {
    const started = performance.now();
    await this.state.apiServer.stop({ signal: options.signal ?? "SIGTERM", graceMs: 15_000 });
    process.stderr.write(
      `[cluster] ${this.state.label}: kube-apiserver stopped in ${seconds(performance.now() - started)}\n`,
    );
  }

  /** Starts the stopped API server again, on the same port with the same flags; resolves when ready. */
  async startApiServer(): Promise<void> {
    const { state } = this;
    if (this.stopping) throw new Error("the control plane is stopped");
    if (state.apiServer.running) throw new Error("kube-apiserver is already running");
    const started = performance.now();
    try {
      state.apiServer = await launchApiServer(state.apiServerLaunch, state.apiServerPort, state.apiServerArgs);
    } catch (error) {
      if (error instanceof PortTakenError) {
        throw new Error(
          `kube-apiserver cannot restart: another process took port ${state.apiServerPort} while it was stopped`,
          { cause: error },
        );
      }
      throw error;
    }
    recordOwnership(state.dir, [
      state.etcd,
      state.apiServer,
      state.controllerManager,
      ...(state.node?.components ?? []),
    ]);
    process.stderr.write(
      `[cluster] ${state.label}: kube-apiserver restarted in ${seconds(performance.now() - started)}\n`,
    );
  }

  /** The last lines a component logged (its latest run). */
  logTail(component: ComponentName, lines = 40): string {
    const byName = {
      etcd: this.state.etcd,
      "kube-apiserver": this.state.apiServer,
      "kube-controller-manager": this.state.controllerManager,
    };
    return byName[component].logTail(lines);
  }

  /** Stops every component (controllers and API server, then etcd) and removes the temp dir. Idempotent. */
  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      const { etcd, apiServer, controllerManager, dir, keepDir, label, node } = this.state;
      const started = performance.now();
      await node?.stop();
      await Promise.all([controllerManager.stop({ graceMs: 5_000 }), apiServer.stop({ graceMs: 5_000 })]);
      await etcd.stop({ graceMs: 5_000 });
      if (keepDir) {
        rmSync(join(dir, "owner.json"), { force: true }); // nothing left to reap; keep it for reading
        process.stderr.write(`[cluster] ${label}: stopped; kept ${dir}\n`);
      } else {
        await rm(dir, { recursive: true, force: true });
      }
      if (node)
        process.stderr.write(
          `[cluster] ${label}: node-backed cluster stopped and cleaned in ${seconds(performance.now() - started)}\n`,
        );
    })();
    await this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private toolContext(): ToolContext {
    return {
      kubectl: this.binaries.kubectl,
      helm: this.binaries.helm,
      kubeconfig: this.adminKubeconfigPath,
      dir: this.dir,
    };
  }

  private credentialContext(): CredentialContext {
    return { server: this.server, caPem: this.caPem, ca: this.state.pki.ca, dir: join(this.dir, "credentials") };
  }
}
