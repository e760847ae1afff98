// What the controller keeps of each pod: enough to tell whether a policy selects it, whether it runs
// the sidecar, and how to tell the user to restart it. Informers of all pods would otherwise hold
// every pod spec in the cluster.
import type { KubeObject } from "../../kube/informer.ts";
import { SIDECAR_CONTAINER, STATUS_ANNOTATION } from "../names.ts";

export interface PodSummary {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    /** Only mcp-warden's status annotation is kept. */
    annotations?: Record<string, string>;
    owner?: { kind: string; name: string };
    terminating?: boolean;
  };
  hostNetwork: boolean;
  hasSidecar: boolean;
  phase: string | undefined;
  /** Declared TCP ports by container, for the upstream-port warning. */
  ports: Record<string, number[]>;
}

interface RawPod {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
    deletionTimestamp?: string;
  };
  spec?: {
    hostNetwork?: boolean;
    initContainers?: Array<{ name: string }>;
    containers?: Array<{ name: string; ports?: Array<{ containerPort: number; protocol?: string }> }>;
  };
  status?: { phase?: string };
}

export function summarizePod(object: KubeObject): PodSummary & KubeObject {
  const pod = object as RawPod;
  const meta = pod.metadata ?? {};
  const owner = meta.ownerReferences?.find((o) => o.controller);
  const status = meta.annotations?.[STATUS_ANNOTATION];
  return {
    metadata: {
      name: meta.name ?? "",
      namespace: meta.namespace ?? "",
      ...(meta.uid ? { uid: meta.uid } : {}),
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
      ...(meta.labels ? { labels: meta.labels } : {}),
      ...(status ? { annotations: { [STATUS_ANNOTATION]: status } } : {}),
      ...(owner ? { owner: { kind: owner.kind, name: owner.name } } : {}),
      ...(meta.deletionTimestamp ? { terminating: true } : {}),
    },
    hostNetwork: pod.spec?.hostNetwork === true,
    hasSidecar: (pod.spec?.initContainers ?? []).some((c) => c.name === SIDECAR_CONTAINER),
    phase: pod.status?.phase,
    ports: Object.fromEntries(
      (pod.spec?.containers ?? []).map((c) => [
        c.name,
        (c.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP").map((p) => p.containerPort),
      ]),
    ),
  };
}

/** Pods that count: not finished and not being deleted. */
export function isLive(pod: PodSummary): boolean {
  return !pod.metadata.terminating && pod.phase !== "Succeeded" && pod.phase !== "Failed";
}
