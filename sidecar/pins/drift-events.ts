// Reports a sidecar's drift to Kubernetes (ADR 0133): one Event per pod about its McpPolicy, named
// `<policy>.pins.<pod>` and rewritten in place whenever the drifted set changes: Warning
// DefinitionsDrifted with the tools in its message and, in an annotation, as JSON with digests and
// diffs; Normal DefinitionsMatchPins once nothing drifts. The operator aggregates these into the
// McpPolicy's DefinitionsPinned condition; `kubectl mcp-warden pins diff` reads them. While anything
// drifts, the Event is rewritten every 10 minutes so the API server's Event TTL never expires it.
// Only for policies read from Kubernetes (k8s://); writes are best effort, retried after 30 s. The
// Kubernetes client loads with the first write, so a sidecar with a policy file never loads it.
import type { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { isNotFound } from "../../kube/api-errors.ts";
import {
  DRIFT_REPORT_ANNOTATION,
  DRIFT_REPORT_SOURCE,
  DRIFTED_REASON,
  MATCHING_REASON,
  driftEventName,
  writeDriftReport,
} from "../../policy/pins/drift-report.ts";
import { API_GROUP, API_VERSION, KIND } from "../../policy/schema.ts";
import { parsePolicyUrl } from "../policy-sources/kubernetes.ts";
import type { DriftSnapshot } from "./drift-monitor.ts";
import { short } from "./pin-check.ts";

const DEBOUNCE_MS = 250;
const HEARTBEAT_MS = 10 * 60_000;

export interface DriftReporter {
  report(snapshot: DriftSnapshot): void;
  stop(): Promise<void>;
}

export function createDriftReporter(
  policyUrl: string,
  options: { kubeConfig: KubeConfig | undefined; podName: string; log: Logger },
): DriftReporter | undefined {
  if (!policyUrl.startsWith("k8s://")) return undefined;
  return new EventDriftReporter({ ...parsePolicyUrl(policyUrl), ...options });
}

interface ReporterOptions {
  namespace: string;
  name: string;
  kubeConfig: KubeConfig | undefined;
  podName: string;
  log: Logger;
}

class EventDriftReporter implements DriftReporter {
  private readonly o: ReporterOptions;
  private api: CoreV1Api | undefined;
  private latest: DriftSnapshot | undefined;
  private written: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private firstAt = new Date();
  private count = 0;

  constructor(options: ReporterOptions) {
    this.o = options;
  }

  report(snapshot: DriftSnapshot): void {
    this.latest = snapshot;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(false), DEBOUNCE_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    await this.writing;
  }

  private flush(force: boolean): void {
    const snapshot = this.latest;
    if (!snapshot) return;
    const event = this.event(snapshot);
    const key = JSON.stringify([event.reason, event.message, event.metadata.annotations]);
    if (!force && key === this.written) return;
    this.writing = this.writing.then(() => this.write(event, key));
    clearInterval(this.heartbeat);
    if (snapshot.drifted.length > 0) {
      this.heartbeat = setInterval(() => this.flush(true), HEARTBEAT_MS);
      this.heartbeat.unref();
    }
  }

  private event(snapshot: DriftSnapshot) {
    const drifted = snapshot.drifted.length > 0;
    const pod = this.o.podName;
    const now = new Date();
    const text = writeDriftReport({
      pod,
      generation: snapshot.generation ?? null,
      mode: snapshot.mode,
      tools: snapshot.drifted.map((d) => ({
        tool: d.tool,
        state: d.state,
        pinned: d.pinned ?? null,
        live: d.live ?? null,
        fields: [...d.fields],
        diff: d.diff,
      })),
      omitted: 0,
    });
    const listed = snapshot.drifted
      .slice(0, 20)
      .map((d) =>
        d.state === "unpinned" ? `${d.tool} (no pin)` : `${d.tool} (pinned ${short(d.pinned)}, now ${short(d.live)})`,
      );
    const more = snapshot.drifted.length > 20 ? ` and ${snapshot.drifted.length - 20} more` : "";
    const effect =
      snapshot.mode === "Enforce"
        ? "blocked until their pins are updated"
        : "reported only (pins mode " + snapshot.mode + ")";
    const message = drifted
      ? `Pod ${pod}: ${snapshot.drifted.length} tool definition${snapshot.drifted.length === 1 ? " differs" : "s differ"} from spec.pins, ${effect}: ${listed.join(", ")}${more}. Review with: kubectl mcp-warden pins diff -n ${this.o.namespace} ${this.o.name}`
      : `Pod ${pod}: every listed tool definition matches spec.pins.`;
    return {
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        name: driftEventName(this.o.name, pod),
        namespace: this.o.namespace,
        annotations: { [DRIFT_REPORT_ANNOTATION]: text },
      },
      involvedObject: {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: KIND,
        namespace: this.o.namespace,
        name: this.o.name,
      },
      reason: drifted ? DRIFTED_REASON : MATCHING_REASON,
      message: message.length > 1024 ? `${message.slice(0, 1023)}…` : message,
      type: drifted ? "Warning" : "Normal",
      source: { component: DRIFT_REPORT_SOURCE, host: pod },
      reportingComponent: `${API_GROUP}/sidecar`,
      reportingInstance: pod,
      firstTimestamp: this.firstAt.toISOString(),
      lastTimestamp: now.toISOString(),
      count: ++this.count,
    };
  }

  private async write(event: ReturnType<EventDriftReporter["event"]>, key: string): Promise<void> {
    try {
      const kube = await import("@kubernetes/client-node");
      this.api ??= (this.o.kubeConfig ?? (await import("../../kube/kubeconfig.ts")).loadKubeConfig()).makeApiClient(
        kube.CoreV1Api,
      );
      const { namespace, name } = event.metadata;
      try {
        await this.api.patchNamespacedEvent(
          { namespace, name, body: event as never },
          kube.setHeaderOptions("Content-Type", kube.PatchStrategy.MergePatch),
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await this.api.createNamespacedEvent({ namespace, body: event as never });
      }
      this.written = key;
    } catch (error) {
      this.o.log.warn(
        { err: (error as Error).message },
        "cannot write the tool definition drift Event; retrying in 30 s",
      );
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(false), 30_000);
      this.timer.unref();
    }
  }
}
