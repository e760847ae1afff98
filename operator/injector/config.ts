// How the operator builds sidecars: image, defaults, and where it never injects.
import { SYSTEM_NAMESPACES } from "../names.ts";

export interface ResourceRequirements {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface InjectorConfig {
  sidecarImage: string;
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  /** Used when the policy sets no spec.sidecar.resources. */
  defaultResources: ResourceRequirements;
  /** Never injected, whatever their labels: the Kubernetes system namespaces and the operator's own. */
  systemNamespaces: ReadonlySet<string>;
  /** Lifetime of the sidecar's projected service-account token (the kubelet renews it at 80 %). */
  tokenExpirationSeconds: number;
  /** When set, injected sidecars export traces (OTLP over HTTP) to this collector endpoint (the chart sets one value for both). */
  otlpEndpoint?: string | undefined;
}

/**
 * Measured (ADR 0961): a sidecar started as the image starts it peaks at about 210 MiB under the
 * soak's traffic (100 calls/s, 20 sessions with GET streams) and holds about 200 MiB with 1,000
 * sessions; the soak's traffic takes 0.13–0.15 cores on a loaded 2-vCPU machine, and the CPU request
 * leaves a third more. The limit leaves the old space 176 MiB (heap.ts) and the rest 144 MiB.
 */
export const DEFAULT_SIDECAR_RESOURCES: ResourceRequirements = {
  requests: { cpu: "200m", memory: "192Mi" },
  limits: { memory: "320Mi" },
};

export function injectorConfig(
  options: { sidecarImage: string; operatorNamespace: string } & Partial<
    Omit<InjectorConfig, "sidecarImage" | "systemNamespaces">
  >,
): InjectorConfig {
  return {
    imagePullPolicy: "IfNotPresent",
    defaultResources: DEFAULT_SIDECAR_RESOURCES,
    tokenExpirationSeconds: 3600,
    ...options,
    systemNamespaces: new Set([...SYSTEM_NAMESPACES, options.operatorNamespace]),
  };
}
