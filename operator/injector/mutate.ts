// Applies an injection plan to a copy of the pod. The patch the webhook returns is the difference
// between the pod before and after this function, so this is the one place that says what injection
// changes.
import type { V1Container, V1Pod, V1Probe } from "@kubernetes/client-node";
import { POLICY_POD_LABEL, SIDECAR_CONTAINER, STATUS_ANNOTATION } from "../names.ts";
import type { InjectorConfig } from "./config.ts";
import type { InjectionPlan } from "./plan.ts";
import { withKestraFastmcpEnv } from "./kestra-env.ts";
import { sidecarContainer, sidecarVolumes } from "./sidecar.ts";

/** What the status annotation records; also what the controller reads to know a pod is enforced. */
export interface InjectionStatus {
  version: 1;
  policy: string;
  sidecar: string;
  image: string;
  container: string;
  profile: "generic" | "kestra";
  port: { name: string; number: number };
  upstreamPort: number;
  adminPort: number;
  volumes: string[];
}

export function injectPod(pod: V1Pod, plan: InjectionPlan, namespace: string, config: InjectorConfig): V1Pod {
  const out = structuredClone(pod);
  const spec = out.spec as NonNullable<V1Pod["spec"]>;
  const mcp = spec.containers.find((c) => c.name === plan.container) as V1Container;

  // The sidecar takes the port over; the server moves to loopback.
  if (plan.port.declared) {
    mcp.ports = (mcp.ports ?? []).filter(
      (p) => !((p.protocol ?? "TCP") === "TCP" && p.containerPort === plan.port.containerPort),
    );
    if (mcp.ports.length === 0) delete mcp.ports;
    for (const field of ["livenessProbe", "readinessProbe", "startupProbe"] as const) {
      const probe = mcp[field];
      if (probe) retargetNamedPort(probe, plan.port.name, plan.port.containerPort);
    }
  }
  if (plan.profile === "kestra") {
    // The image serves stdio only; FastMCP's own CLI serves the same server over HTTP (WORKDIR /app).
    mcp.command = kestraServerCommand(plan.upstreamPort);
    delete mcp.args;
    withKestraFastmcpEnv(mcp);
  }

  const sidecar = sidecarContainer(plan, namespace, config);
  spec.initContainers = [...(spec.initContainers ?? []), sidecar];
  const volumes = sidecarVolumes(plan, config);
  spec.volumes = [...(spec.volumes ?? []), ...volumes];

  const status: InjectionStatus = {
    version: 1,
    policy: plan.policy.name,
    sidecar: SIDECAR_CONTAINER,
    image: config.sidecarImage,
    container: plan.container,
    profile: plan.profile,
    port: { name: plan.port.name, number: plan.port.containerPort },
    upstreamPort: plan.upstreamPort,
    adminPort: plan.adminPort,
    volumes: volumes.map((v) => v.name),
  };
  const metadata = (out.metadata ??= {});
  metadata.annotations = { ...metadata.annotations, [STATUS_ANNOTATION]: JSON.stringify(status) };
  metadata.labels = { ...metadata.labels, [POLICY_POD_LABEL]: plan.policy.name };
  return out;
}

/** How the "kestra" profile starts the Kestra image's server: FastMCP's CLI serving `src/server.py`
 * (relative to the image's WORKDIR) over Streamable HTTP on loopback. */
export function kestraServerCommand(port: number): string[] {
  return ["fastmcp", "run", "src/server.py:mcp", "--transport", "http", "--host", "127.0.0.1", "--port", String(port)];
}

/** Probes that named the moved port would find no such port on the MCP container any more; the
 * number still reaches the pod (now through the sidecar). */
function retargetNamedPort(probe: V1Probe, name: string, number: number): void {
  if (probe.httpGet && probe.httpGet.port === name) probe.httpGet.port = number;
  if (probe.tcpSocket && probe.tcpSocket.port === name) probe.tcpSocket.port = number;
}

export function readInjectionStatus(
  annotations: Readonly<Record<string, string>> | undefined,
): InjectionStatus | undefined {
  const text = annotations?.[STATUS_ANNOTATION];
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<InjectionStatus>;
    return parsed.version === 1 && typeof parsed.policy === "string" ? (parsed as InjectionStatus) : undefined;
  } catch {
    return undefined;
  }
}
