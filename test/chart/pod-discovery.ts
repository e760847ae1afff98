// Kubernetes pod discovery for a Prometheus built without it. Debian's `prometheus` package leaves
// out kubernetes_sd_configs, so this serves Prometheus's HTTP service discovery (http_sd_configs)
// from the real API server's pods, with the targets and meta labels kubernetes_sd (role: pod) would
// give: one target per declared container port (init containers included, which is where native
// sidecars live) at the pod's IP, and __meta_kubernetes_* labels for the relabelling a PodMonitor
// becomes. Pods without an IP yet have no targets, as in Prometheus.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CoreV1Api, V1Container, V1Pod } from "@kubernetes/client-node";

export interface DiscoveredTarget {
  targets: string[];
  labels: Record<string, string>;
}

const metaName = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, "_");

export function podTargets(pod: V1Pod): DiscoveredTarget[] {
  const ip = pod.status?.podIP;
  if (!ip) return [];
  const meta = pod.metadata ?? {};
  const podLabels: Record<string, string> = {
    __meta_kubernetes_namespace: meta.namespace ?? "",
    __meta_kubernetes_pod_name: meta.name ?? "",
    __meta_kubernetes_pod_ip: ip,
    __meta_kubernetes_pod_uid: meta.uid ?? "",
    __meta_kubernetes_pod_phase: pod.status?.phase ?? "",
    __meta_kubernetes_pod_node_name: pod.spec?.nodeName ?? "",
    __meta_kubernetes_pod_host_ip: pod.status?.hostIP ?? "",
    __meta_kubernetes_pod_ready: String(
      pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    ),
  };
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    podLabels[`__meta_kubernetes_pod_label_${metaName(key)}`] = value;
    podLabels[`__meta_kubernetes_pod_labelpresent_${metaName(key)}`] = "true";
  }
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    podLabels[`__meta_kubernetes_pod_annotation_${metaName(key)}`] = value;
    podLabels[`__meta_kubernetes_pod_annotationpresent_${metaName(key)}`] = "true";
  }
  const containers: Array<[V1Container, boolean]> = [
    ...(pod.spec?.containers ?? []).map((c): [V1Container, boolean] => [c, false]),
    ...(pod.spec?.initContainers ?? []).map((c): [V1Container, boolean] => [c, true]),
  ];
  return containers.flatMap(([container, init]) =>
    (container.ports ?? []).map((port) => ({
      targets: [`${ip}:${port.containerPort}`],
      labels: {
        ...podLabels,
        __meta_kubernetes_pod_container_name: container.name,
        __meta_kubernetes_pod_container_image: container.image ?? "",
        __meta_kubernetes_pod_container_init: String(init),
        __meta_kubernetes_pod_container_port_name: port.name ?? "",
        __meta_kubernetes_pod_container_port_number: String(port.containerPort),
        __meta_kubernetes_pod_container_port_protocol: port.protocol ?? "TCP",
      },
    })),
  );
}

export interface PodDiscovery {
  /** The http_sd_configs URL. */
  url: string;
  close(): Promise<void>;
}

/** Serves the targets of every pod in the cluster, listed afresh on each refresh. */
export async function startPodDiscovery(core: CoreV1Api): Promise<PodDiscovery> {
  const server: Server = createServer((_request, response) => {
    core.listPodForAllNamespaces().then(
      (pods) => {
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify(pods.items.flatMap(podTargets)));
      },
      (error: unknown) => {
        response.statusCode = 500;
        response.end(String(error));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/targets`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
