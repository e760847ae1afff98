// `mcp-warden operator`: every replica serves the injector webhook from a shared McpPolicy cache;
// the replica holding the Lease also runs the controller. Shutdown is graceful: readiness drops
// first (so Services stop sending admissions), the lease is released, then servers close.
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { systemClock, type Clock } from "../kube/clock.ts";
import { EventRecorder, eventsApiFor } from "../kube/event-recorder.ts";
import { KubeHttp } from "../kube/http.ts";
import type { Informer } from "../kube/informer.ts";
import { silentLogger, type Logger } from "../kube/logger.ts";
import { AdminServer } from "./admin-server.ts";
import { Controller } from "./controller/controller.ts";
import { AdmissionHandler } from "./injector/admission.ts";
import { injectorConfig, type ResourceRequirements } from "./injector/config.ts";
import { leadControllers, type Leadership } from "./leadership.ts";
import { createOperatorMetrics, type OperatorMetrics } from "./metrics.ts";
import { startTracing, type Tracing, type TracingMode } from "../telemetry/tracing.ts";
import { PolicyIndex, type McpPolicyObject } from "./policy-index.ts";
import { watchPolicies } from "./policy-watch.ts";
import { WebhookCertificates, type CertificateSource } from "./webhook/certificate-manager.ts";
import type { RotationTiming } from "./webhook/rotation.ts";
import { WebhookServer } from "./webhook/server.ts";
import type { HostPort } from "../program/host-port.ts";
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
  const parts = await operatorParts(o);
  const { logger, metrics, index, identity } = parts;
  const serving: Serving = { webhook: undefined, webhookPort: 0, shuttingDown: false };
  const policies = watchPolicies(parts);
  const certificates = webhookCertificates(o, parts, serving);
  const admin = adminServer(o, metrics, { serving, policies, certificates });
  const adminPort = await admin.start();
  policies.start();
  certificates.start();
  const webhookPort = await serveWebhook(o, parts, serving, { policies, certificates });
  logger.info({ webhookPort, adminPort, identity }, "webhook serving");
  const leadership = leadControllers({ ...o, ...parts });
  return {
    metrics,
    index,
    webhookPort,
    adminPort,
    isLeader: () => leadership.isLeader(),
    stop: stopSequence(o, parts, { serving, leadership, certificates, policies, admin }),
  };
}

/** What the steps share, built before anything listens or watches. */
interface OperatorParts {
  logger: Logger;
  clock: Clock;
  identity: string;
  http: KubeHttp;
  metrics: OperatorMetrics;
  tracing: Tracing;
  events: EventRecorder;
  index: PolicyIndex;
  controller: Controller;
}

/** The webhook as certificate rotation, readiness and shutdown see it: it exists once a certificate does. */
interface Serving {
  webhook: WebhookServer | undefined;
  webhookPort: number;
  shuttingDown: boolean;
}

async function operatorParts(o: OperatorOptions): Promise<OperatorParts> {
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
    onExportError: (message) =>
      logger.warn({ err: message }, "trace export failed; spans are dropped until the collector answers"),
  });
  const events = new EventRecorder(eventsApiFor(o.kubeConfig), {
    component: "mcp-warden-operator",
    instance: identity,
    logger,
    clock,
  });
  const index = new PolicyIndex();
  const controller = new Controller({
    kubeConfig: o.kubeConfig,
    http,
    index,
    metrics,
    events,
    clock,
    logger,
    ...(o.resyncIntervalMs ? { resyncIntervalMs: o.resyncIntervalMs } : {}),
  });
  return { logger, clock, identity, http, metrics, tracing, events, index, controller };
}

/** The serving certificate, issued and rotated into the Secret and the webhook configuration; not yet started. */
function webhookCertificates(
  o: OperatorOptions,
  { http, metrics, clock, logger }: OperatorParts,
  serving: Serving,
): WebhookCertificates {
  return new WebhookCertificates({
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
      serving.webhook?.useCertificate(certificate);
    },
  });
}

/** Metrics and readiness: ready once the cache, certificate and webhook are, and no longer while shutting down. */
function adminServer(
  o: OperatorOptions,
  metrics: OperatorMetrics,
  {
    serving,
    policies,
    certificates,
  }: { serving: Serving; policies: Informer<McpPolicyObject>; certificates: WebhookCertificates },
): AdminServer {
  return new AdminServer({
    ...o.adminListen,
    registry: metrics.registry,
    checks: [
      { name: "shutting down", ready: () => !serving.shuttingDown },
      { name: "McpPolicy cache", ready: () => policies.synced },
      { name: "webhook certificate", ready: () => certificates.current !== undefined },
      { name: "webhook server", ready: () => serving.webhookPort !== 0 },
    ],
  });
}

/** Starts the injector webhook once the first certificate exists; resolves to its port. */
async function serveWebhook(
  o: OperatorOptions,
  parts: OperatorParts,
  serving: Serving,
  { policies, certificates }: { policies: Informer<McpPolicyObject>; certificates: WebhookCertificates },
): Promise<number> {
  const { index, metrics, events, logger, tracing } = parts;
  const handler = new AdmissionHandler({
    index,
    config: injectorConfig({
      sidecarImage: o.sidecarImage,
      operatorNamespace: o.namespace,
      ...(o.imagePullPolicy ? { imagePullPolicy: o.imagePullPolicy } : {}),
      ...(o.sidecarResources ? { defaultResources: o.sidecarResources } : {}),
      ...(o.sidecarOtlpEndpoint ? { otlpEndpoint: o.sidecarOtlpEndpoint } : {}),
    }),
    ready: () => policies.synced,
    metrics,
    events,
    logger,
    tracing,
  });
  const startup = new AbortController();
  const certificate = await certificates.waitForCertificate(startup.signal);
  if (!certificate) throw new Error("no webhook certificate");
  serving.webhook = new WebhookServer({ handler, ...o.webhookListen, certificate, logger });
  serving.webhookPort = await serving.webhook.start();
  return serving.webhookPort;
}
interface Started {
  serving: Serving;
  leadership: Leadership;
  certificates: WebhookCertificates;
  policies: Informer<McpPolicyObject>;
  admin: AdminServer;
}

/**
 * Graceful shutdown, once however often it is asked for: readiness drops first and the webhook keeps
 * answering for `shutdownDelayMs` (Services take a while to stop sending admissions), then the lease
 * is released, then everything closes in the reverse order of starting.
 */
function stopSequence(
  o: OperatorOptions,
  { logger, clock, events, tracing }: OperatorParts,
  started: Started,
): () => Promise<void> {
  const { serving, leadership, certificates, policies, admin } = started;
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      serving.shuttingDown = true;
      logger.info({}, "shutting down");
      await clock.sleep(o.shutdownDelayMs ?? 5_000);
      await leadership.release();
      await serving.webhook?.close();
      await certificates.stop();
      await policies.stop();
      await events.flush();
      await admin.close();
      await flushTraces(tracing);
      logger.info({}, "stopped");
    })());
}

/** The last admission spans, for a bounded time: a collector that is down never holds up a shutdown. */
async function flushTraces(tracing: Tracing): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    tracing.shutdown().catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, 2000))),
  ]);
  clearTimeout(timer);
}

/** The names the API server may use to reach the webhook's Service. */
export function serviceHosts(service: string, namespace: string): string[] {
  return [
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
    `${service}.${namespace}`,
    service,
  ];
}
