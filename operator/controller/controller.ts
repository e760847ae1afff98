// The controller: runs on the replica holding the lease. Informers for pods and namespaces (the
// McpPolicy informer is shared with the webhook and runs on every replica) only enqueue keys; workers
// take keys from a de-duplicating queue and reconcile the current state. Every key is also requeued
// periodically, which repairs drift nothing watches (a deleted RoleBinding, a failed Event).
import type { KubeConfig } from "@kubernetes/client-node";
import { describeApiError } from "../../kube/api-errors.ts";
import type { Clock, TimerHandle } from "../../kube/clock.ts";
import type { EventRecorder } from "../../kube/event-recorder.ts";
import type { KubeHttp } from "../../kube/http.ts";
import { Informer, type KubeObject } from "../../kube/informer.ts";
import type { Logger } from "../../kube/logger.ts";
import { processQueue, WorkQueue } from "../../kube/work-queue.ts";
import type { OperatorMetrics } from "../metrics.ts";
import type { PolicyEntry, PolicyIndex } from "../policy-index.ts";
import { ApprovalController } from "../approvals/approval-controller.ts";
import { NamespaceReconciler } from "./namespace-reconciler.ts";
import { PolicyReconciler, statusWriter, type NamespaceView, type PolicyReconcilerDeps } from "./policy-reconciler.ts";
import { summarizePod, type PodSummary } from "./pod-summary.ts";
import { driftEventSelector, summarizeDriftEvent, type DriftEventSummary } from "./drift-reports.ts";
import { DRIFT_REPORT_SOURCE } from "../../policy/pins/drift-report.ts";

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  http: KubeHttp;
  index: PolicyIndex;
  metrics: OperatorMetrics;
  events: EventRecorder | undefined;
  clock: Clock;
  logger: Logger;
  workers?: number;
  resyncIntervalMs?: number;
  /** Tests replace the status writer to observe writes; production uses the API. */
  writeStatus?: PolicyReconcilerDeps["writeStatus"];
  informerOptions?: { relistIntervalMs?: number; watchdogMs?: number };
}

type Key = `policy:${string}/${string}` | `namespace:${string}`;

export class Controller {
  readonly #o: ControllerOptions;
  #queue: WorkQueue<Key> | undefined;

  constructor(options: ControllerOptions) {
    this.#o = options;
  }

  /** Called by the shared McpPolicy informer handlers (every replica); enqueues while running. */
  policyChanged(entry: PolicyEntry, old: PolicyEntry | undefined): void {
    const queue = this.#queue;
    if (!queue) return;
    const specChanged = !old || old.generation !== entry.generation || old.uid !== entry.uid;
    if (!specChanged) return; // our own status write coming back
    for (const p of this.#o.index.inNamespace(entry.namespace)) queue.add(`policy:${p.namespace}/${p.name}`);
  }

  policyDeleted(entry: PolicyEntry): void {
    const queue = this.#queue;
    if (!queue) return;
    queue.add(`policy:${entry.namespace}/${entry.name}`);
    for (const p of this.#o.index.inNamespace(entry.namespace)) queue.add(`policy:${p.namespace}/${p.name}`);
  }

  /** Runs until `signal` aborts (leadership lost or shutdown); then stops and waits for workers. */
  async run(signal: AbortSignal): Promise<void> {
    const { http, logger, clock, index } = this.#o;
    const informerOptions = { http, clock, logger, ...this.#o.informerOptions };
    const pods = new Informer<PodSummary & KubeObject>({
      ...informerOptions,
      path: "/api/v1/pods",
      transform: summarizePod,
    });
    const namespaces = new Informer<NamespaceView & KubeObject>({
      ...informerOptions,
      path: "/api/v1/namespaces",
      transform: (o) => {
        const m = (o.metadata ?? {}) as {
          name?: string;
          labels?: Record<string, string>;
          resourceVersion?: string;
          deletionTimestamp?: string;
        };
        return {
          metadata: {
            name: m.name,
            labels: m.labels,
            resourceVersion: m.resourceVersion,
            deletionTimestamp: m.deletionTimestamp,
          },
        };
      },
    });
    // The sidecars' tool definition drift reports (Events on McpPolicies, ADR 0133).
    const driftEvents = new Informer<DriftEventSummary & KubeObject>({
      ...informerOptions,
      path: "/api/v1/events",
      fieldSelector: driftEventSelector(DRIFT_REPORT_SOURCE),
      transform: summarizeDriftEvent,
    });
    const queue = new WorkQueue<Key>({ clock });
    const enqueueNamespace = (namespace: string) => {
      queue.add(`namespace:${namespace}`);
      for (const p of index.inNamespace(namespace)) queue.add(`policy:${p.namespace}/${p.name}`);
    };
    const onPod = (pod: PodSummary) => {
      for (const p of index.inNamespace(pod.metadata.namespace)) queue.add(`policy:${p.namespace}/${p.name}`);
    };
    pods.on("add", onPod).on("update", onPod).on("delete", onPod);
    const onDriftEvent = (event: DriftEventSummary) => {
      if (index.get(event.metadata.namespace, event.policy))
        queue.add(`policy:${event.metadata.namespace}/${event.policy}`);
    };
    driftEvents.on("add", onDriftEvent).on("update", onDriftEvent).on("delete", onDriftEvent);
    const onNamespace = (ns: NamespaceView) => enqueueNamespace(ns.metadata?.name ?? "");
    namespaces.on("add", onNamespace).on("update", onNamespace).on("delete", onNamespace);

    const policies = new PolicyReconciler({
      index,
      pods: { list: (ns) => pods.list(ns) },
      namespaces: { get: (name) => namespaces.get(name) },
      driftReports: { list: (ns) => driftEvents.list(ns) },
      writeStatus: this.#o.writeStatus ?? statusWriter(this.#o.kubeConfig),
      events: this.#o.events,
      podCounts: {
        set: (namespace, name, counts) => {
          const labels = { namespace, policy: `${namespace}/${name}` };
          this.#o.metrics.policySelectedPods.set(labels, counts.selected);
          this.#o.metrics.policyEnforcedPods.set(labels, counts.enforced);
        },
        delete: (namespace, name) => {
          const labels = { namespace, policy: `${namespace}/${name}` };
          this.#o.metrics.policySelectedPods.remove(labels);
          this.#o.metrics.policyEnforcedPods.remove(labels);
        },
      },
      clock,
      logger,
    });
    const rbac = new NamespaceReconciler({
      kubeConfig: this.#o.kubeConfig,
      namespaces: { get: (name) => namespaces.get(name) },
      logger,
    });

    pods.start();
    namespaces.start();
    driftEvents.start();
    // McpApprovals: Events, metrics, deletion once expired (its own informer; same leadership).
    const approvals = new ApprovalController({
      http,
      clock,
      logger,
      metrics: this.#o.metrics,
      events: this.#o.events,
      ...(this.#o.informerOptions ? { informerOptions: this.#o.informerOptions } : {}),
    });
    const approvalsDone = approvals
      .run(signal)
      .catch((error: unknown) => logger.error({ err: error }, "approval controller failed"));
    let resync: TimerHandle | undefined;
    const enqueueAll = () => {
      for (const name of namespaces.keys()) queue.add(`namespace:${name}`);
      for (const p of index.all()) queue.add(`policy:${p.namespace}/${p.name}`);
    };
    const scheduleResync = () => {
      resync = clock.schedule(this.#o.resyncIntervalMs ?? 5 * 60_000, () => {
        enqueueAll();
        scheduleResync();
      });
    };
    try {
      await Promise.all([pods.waitForSync(signal), namespaces.waitForSync(signal), driftEvents.waitForSync(signal)]);
      if (signal.aborted) return;
      logger.info(
        { pods: pods.keys().length, namespaces: namespaces.keys().length, policies: index.size },
        "controller caches synced; reconciling",
      );
      this.#queue = queue;
      enqueueAll();
      scheduleResync();
      const done = processQueue(
        queue,
        this.#o.workers ?? 2,
        async (key) => {
          if (key.startsWith("namespace:")) await rbac.reconcile(key.slice("namespace:".length));
          else {
            const [namespace, name] = key.slice("policy:".length).split("/") as [string, string];
            await policies.reconcile(namespace, name);
          }
          this.#o.metrics.reconciles.inc({ result: "success" });
        },
        (key, error) => {
          this.#o.metrics.reconciles.inc({ result: "error" });
          logger.warn(
            { key, error: describeApiError(error), failures: queue.failures(key) + 1 },
            "reconcile failed; retrying with backoff",
          );
        },
      );
      await new Promise<void>((resolve) =>
        signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      queue.shutDown();
      await done;
    } finally {
      this.#queue = undefined;
      // Only the leader's counts are current; a replica that stopped leading stops publishing them.
      this.#o.metrics.policySelectedPods.reset();
      this.#o.metrics.policyEnforcedPods.reset();
      resync?.cancel();
      queue.shutDown();
      await Promise.all([pods.stop(), namespaces.stop(), driftEvents.stop(), approvalsDone]);
      logger.info({}, "controller stopped");
    }
  }
}
