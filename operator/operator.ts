// `mcp-warden operator`: every replica serves the injector webhook from a shared McpPolicy cache;
// the replica holding the Lease also runs the controller. Shutdown is graceful: readiness drops
// first (so Services stop sending admissions), the lease is released, then servers close.
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { systemClock, type Clock } from "../kube/clock.ts";
import { EventRecorder, eventsApiFor } from "../kube/event-recorder.ts";
import { KubeHttp } from "../kube/http.ts";
import { Informer } from "../kube/informer.ts";
import { KubernetesLeaseStore } from "../kube/lease-store.ts";
import { LeaderElector } from "../kube/leader-election.ts";
import { silentLogger, type Logger } from "../kube/logger.ts";
import { API_GROUP, API_VERSION } from "../policy/schema.ts";
import { AdminServer } from "./admin-server.ts";
import { Controller } from "./controller/controller.ts";
import { MCP_POLICY_PLURAL } from "./crd/mcppolicy-crd.ts";
import { AdmissionHandler } from "./injector/admission.ts";
import { injectorConfig, type ResourceRequirements } from "./injector/config.ts";
import { createOperatorMetrics, type OperatorMetrics } from "./metrics.ts";
import { startTracing, type Tracing, type TracingMode } from "../telemetry/tracing.ts";
import { MANAGED_BY_LABELS } from "./names.ts";
import { PolicyIndex, policyEntry, type McpPolicyObject } from "./policy-index.ts";
import { WebhookCertificates, type CertificateSource } from "./webhook/certificate-manager.ts";
import type { RotationTiming } from "./webhook/rotation.ts";
import { WebhookServer } from "./webhook/server.ts";
import type { HostPort } from "../program/host-port.ts";
import { errorMessage } from "../program/logging.ts";
import { VERSION } from "../program/version.ts";

export type { HostPort };

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** The operator's namespace (its Secret, Lease and Service live there; never injected). */
  namespace: string;
  /** This replica's name in the Lease (the pod name). */
  identity?: string;
  sidecarImage: string;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  sidecarResources?: ResourceRequirements;
  webhookListen: HostPort;
  adminListen: HostPort;
  /** The Service in front of the webhook; its DNS names go into the serving certificate. */
  webhookService: string;
  /** More names or IPs for the serving certificate (e.g. 127.0.0.1 for a local operator). */
  extraHosts?: string[];
  webhookConfiguration: string;
  webhookSecret: string;
  certificateSource: CertificateSource;
  leaseName: string;
  leaderElection?: boolean;
  /** Time between dropping readiness and closing the webhook at shutdown. */
  shutdownDelayMs?: number;
  /** Reported on metrics and traces (default: package.json's). */
  version?: string;
  logger?: Logger;
  clock?: Clock;
  /** Faster timings for tests; production uses the Kubernetes defaults. */
  leaseTimings?: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  resyncIntervalMs?: number;
  /** Certificate lifetimes and rotation steps (short ones let a test watch a whole CA rotation). */
  certificateTiming?: RotationTiming;
  /** Traces of admission decisions: OTLP to OTEL_EXPORTER_OTLP_ENDPOINT (default off). */
  tracing?: TracingMode;
  /** Ratio of new traces sampled (parent-based); default: OTEL_TRACES_SAMPLER, else all. */
  traceSamplingRatio?: number;
  /** The collector injected sidecars export their traces to (unset: their tracing stays off). */
  sidecarOtlpEndpoint?: string;
}

export interface RunningOperator {
  metrics: OperatorMetrics;
  index: PolicyIndex;
  webhookPort: number;
  adminPort: number;
  isLeader(): boolean;
  /** Graceful shutdown; resolves when everything has stopped. */
  stop(): Promise<void>;
}

export async function startOperator(o: OperatorOptions): Promise<RunningOperator> {
  const logger = o.logger ?? silentLogger;
  const clock = o.clock ?? systemClock;
  const identity = o.identity ?? hostname();
  const http = new KubeHttp(o.kubeConfig);
  const version = o.version ?? VERSION;
  const metrics = createOperatorMetrics({ version });
  const tracing = await startTracing(o.tracing ?? "off", {
    serviceName: "mcp-warden-operator",
    serviceVersion: version,
    samplingRatio: () => o.traceSamplingRatio,
    onDropped: (spans) => metrics.spansDropped.inc(spans),
    onExportError: (message) => logger.warn({ err: message }, "trace export failed; spans are dropped until the collector answers"),
  });
  const events = new EventRecorder(eventsApiFor(o.kubeConfig), { component: "mcp-warden-operator", instance: identity, logger, clock });
  const index = new PolicyIndex();
  const controller = new Controller({ kubeConfig: o.kubeConfig, http, index, metrics, events, clock, logger, ...(o.resyncIntervalMs ? { resyncIntervalMs: o.resyncIntervalMs } : {}) });

  // The McpPolicy cache: every replica, for the webhook; the controller is told while it runs.
  const policies = new Informer<McpPolicyObject>({ http, path: `/apis/${API_GROUP}/${API_VERSION}/${MCP_POLICY_PLURAL}`, clock, logger });
  policies
    .on("add", (object) => controller.policyChanged(indexPolicy(index, object), undefined))
    .on("update", (object) => {
      const entry = policyEntry(object);
      controller.policyChanged(entry, index.set(entry));
    })
    .on("delete", (object) => {
      const gone = index.delete(object.metadata?.namespace ?? "", object.metadata?.name ?? "");
      if (gone) controller.policyDeleted(gone);
    });

  let webhook: WebhookServer | undefined = undefined;
  let webhookPort = 0;
  let shuttingDown = false;
  const certificates = new WebhookCertificates({
    kubeConfig: o.kubeConfig,
    http,
    namespace: o.namespace,
    secretName: o.webhookSecret,
    webhookConfigurationName: o.webhookConfiguration,
    hosts: [...serviceHosts(o.webhookService, o.namespace), ...(o.extraHosts ?? [])],
    source: o.certificateSource,
    ...(o.certificateTiming ? { timing: o.certificateTiming } : {}),
    clock,
    logger,
    onCertificate: (certificate, notAfter) => {
      metrics.certificateExpiry.set(Math.floor(notAfter / 1000));
      webhook?.useCertificate(certificate);
    },
  });

  const admin = new AdminServer({
    ...o.adminListen,
    registry: metrics.registry,
    checks: [
      { name: "shutting down", ready: () => !shuttingDown },
      { name: "McpPolicy cache", ready: () => policies.synced },
      { name: "webhook certificate", ready: () => certificates.current !== undefined },
      { name: "webhook server", ready: () => webhookPort !== 0 },
    ],
  });
  const adminPort = await admin.start();
  policies.start();
  certificates.start();

  const handler = new AdmissionHandler({ index, config: injectorConfig({
    sidecarImage: o.sidecarImage,
    operatorNamespace: o.namespace,
    ...(o.imagePullPolicy ? { imagePullPolicy: o.imagePullPolicy } : {}),
    ...(o.sidecarResources ? { defaultResources: o.sidecarResources } : {}),
    ...(o.sidecarOtlpEndpoint ? { otlpEndpoint: o.sidecarOtlpEndpoint } : {}),
  }), ready: () => policies.synced, metrics, events, logger, tracing });
  const startup = new AbortController();
  const certificate = await certificates.waitForCertificate(startup.signal);
  if (!certificate) throw new Error("no webhook certificate");
  webhook = new WebhookServer({ handler, ...o.webhookListen, certificate, logger });
  webhookPort = await webhook.start();
  logger.info({ webhookPort, adminPort, identity }, "webhook serving");

  // Leader election: only the leader reconciles.
  const election = new AbortController();
  let leading = false;
  const elector =
    o.leaderElection === false
      ? undefined
      : new LeaderElector({
          store: new KubernetesLeaseStore(http, o.namespace, o.leaseName, { ...MANAGED_BY_LABELS }),
          identity,
          clock,
          logger,
          ...o.leaseTimings,
          onStartedLeading: (leadership) => {
            leading = true;
            metrics.leader.set(1);
            controllerRun = controller.run(leadership).catch((error: unknown) => logger.error({ err: errorMessage(error) }, "controller failed"));
          },
          onStoppedLeading: () => {
            leading = false;
            metrics.leader.set(0);
          },
          onNewLeader: (leader) => logger.info({ leader }, "observed leader"),
        });
  let controllerRun: Promise<void> | undefined;
  const electing = elector ? elector.run(election.signal) : undefined;
  if (!elector) {
    leading = true;
    metrics.leader.set(1);
    controllerRun = controller.run(election.signal);
  }

  let stopping: Promise<void> | undefined;
  return {
    metrics,
    index,
    webhookPort,
    adminPort,
    isLeader: () => leading,
    stop: () =>
      (stopping ??= (async () => {
        shuttingDown = true;
        logger.info({}, "shutting down");
        await clock.sleep(o.shutdownDelayMs ?? 5_000);
        election.abort(); // the elector releases the lease, which stops the controller
        await electing;
        await controllerRun;
        await webhook?.close();
        await certificates.stop();
        await policies.stop();
        await events.flush();
        await admin.close();
        await flushTraces(tracing);
        logger.info({}, "stopped");
      })()),
  };
}

/** The last admission spans, for a bounded time: a collector that is down never holds up a shutdown. */
async function flushTraces(tracing: Tracing): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([tracing.shutdown().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
  clearTimeout(timer);
}

function indexPolicy(index: PolicyIndex, object: McpPolicyObject) {
  const entry = policyEntry(object);
  index.set(entry);
  return entry;
}

/** The names the API server may use to reach the webhook's Service. */
export function serviceHosts(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
}
