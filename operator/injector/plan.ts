// Decides how a selected pod is injected, before anything is changed: which container runs the MCP
// server, which port the sidecar takes over (the one the pod's Services target), where the server
// moves to on loopback, and whether any of that collides. Everything that can go wrong is found
// here and turned into a rejection that says how to fix it.
import type { V1Container, V1ContainerPort, V1Pod } from "@kubernetes/client-node";
import {
  ADMIN_PORT_ANNOTATION,
  ADMIN_PORT_NAME,
  API_KEYS_VOLUME,
  APPROVAL_STATE_KEY_VOLUME,
  CONTAINER_ANNOTATION,
  DEFAULT_ADMIN_PORT,
  DEFAULT_PROFILE_UPSTREAM_PORT,
  KESTRA_IMAGE,
  PORT_ANNOTATION,
  SIDECAR_CONTAINER,
  TOKEN_VOLUME,
} from "../names.ts";
import type { PolicyEntry } from "../policy-index.ts";
import type { PodOverrides } from "./overrides.ts";
import type { RejectReason } from "./outcome.ts";

export interface TakenPort {
  name: string;
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
  /** Whether the MCP container declared it (it is then moved, not just added). */
  declared: boolean;
}

export interface InjectionPlan {
  policy: PolicyEntry;
  container: string;
  profile: "generic" | "kestra";
  port: TakenPort;
  upstreamPort: number;
  upstreamPath: string;
  adminPort: number;
  warnings: string[];
}

export type PlanResult = { ok: true; plan: InjectionPlan } | { ok: false; reason: RejectReason; message: string };

type Rejection = Extract<PlanResult, { ok: false }>;
/** The port the sidecar takes over, and the declaration it came from (undefined when none is declared). */
type Takeover = { ok: true; port: TakenPort; declared: V1ContainerPort | undefined };

const RESERVED_VOLUMES = new Set([TOKEN_VOLUME, API_KEYS_VOLUME, APPROVAL_STATE_KEY_VOLUME]);
const reject = (reason: RejectReason, message: string): Rejection => ({ ok: false, reason, message });

export function planInjection(pod: V1Pod, policy: PolicyEntry, overrides: PodOverrides): PlanResult {
  const reserved = reservedNameInUse(pod);
  if (reserved) return reserved;
  const chosen = mcpContainer(pod.spec?.containers ?? [], overrides);
  if (!chosen.ok) return chosen;
  const mcp = chosen.container;
  const profile = policy.injection.profile === "kestra" || isKestra(mcp) ? "kestra" : "generic";
  const upstreamPort = upstreamPortOf(policy, mcp, profile);
  if (typeof upstreamPort !== "number") return upstreamPort;
  const takeover = portTakenOver(mcp, policy, overrides);
  if (!takeover.ok) return takeover;
  const adminPort = overrides.adminPort ?? DEFAULT_ADMIN_PORT;
  const collision = portCollision(pod, policy, { mcp, takeover, upstreamPort, adminPort });
  if (collision) return collision;
  const warnings = warningsFor(policy, mcp, upstreamPort);
  return {
    ok: true,
    plan: {
      policy,
      container: mcp.name,
      profile,
      port: takeover.port,
      upstreamPort,
      upstreamPath: policy.injection.upstreamPath,
      adminPort,
      warnings,
    },
  };
}

/** The sidecar's container and volume names must be free in the pod. */
function reservedNameInUse(pod: V1Pod): Rejection | undefined {
  if ((pod.spec?.containers ?? []).some((c) => c.name === SIDECAR_CONTAINER)) {
    return reject(
      "reserved_name",
      `container name "${SIDECAR_CONTAINER}" is reserved for the mcp-warden sidecar: rename the container`,
    );
  }
  const reservedVolume = (pod.spec?.volumes ?? []).find((v) => RESERVED_VOLUMES.has(v.name));
  if (reservedVolume) {
    return reject(
      "reserved_name",
      `volume name "${reservedVolume.name}" is reserved for the mcp-warden sidecar: rename the volume`,
    );
  }
  return undefined;
}

/** The container that runs the MCP server: the one the annotation names, the Kestra one, or the only one. */
function mcpContainer(
  containers: V1Container[],
  overrides: PodOverrides,
): { ok: true; container: V1Container } | Rejection {
  if (overrides.container !== undefined) {
    const named = containers.find((c) => c.name === overrides.container);
    if (named) return { ok: true, container: named };
    return reject(
      "invalid_override",
      `annotation ${CONTAINER_ANNOTATION} names container "${overrides.container}", but the pod's containers are ${list(containers.map((c) => c.name))}`,
    );
  }
  const kestra = containers.filter(isKestra);
  const only = kestra.length === 1 ? kestra[0] : containers.length === 1 ? containers[0] : undefined;
  if (only) return { ok: true, container: only };
  return reject(
    "ambiguous_container",
    `pod has ${containers.length} containers (${list(containers.map((c) => c.name))}) and mcp-warden cannot tell which runs the MCP server: ` +
      `add the annotation ${CONTAINER_ANNOTATION}: <container name>`,
  );
}

/** Where the server moves to: spec.upstream.port, or the profile's default. */
function upstreamPortOf(policy: PolicyEntry, mcp: V1Container, profile: InjectionPlan["profile"]): number | Rejection {
  const upstreamPort =
    policy.injection.upstreamPort ?? (profile === "kestra" ? DEFAULT_PROFILE_UPSTREAM_PORT : undefined);
  if (upstreamPort !== undefined) return upstreamPort;
  return reject(
    "missing_upstream_port",
    `McpPolicy ${policy.name} does not set spec.upstream.port, and container "${mcp.name}" (image ${mcp.image ?? "?"}) is not an MCP server mcp-warden knows how to move: ` +
      `configure the server to listen on 127.0.0.1:<port> and set spec.upstream.port to that port (or spec.upstream.profile if a profile fits)`,
  );
}

/** The port the sidecar takes over: the annotation's, the only TCP port, the listen port, or the one named mcp or http. */
function portTakenOver(mcp: V1Container, policy: PolicyEntry, overrides: PodOverrides): Takeover | Rejection {
  const tcp = tcpPorts(mcp);
  if (overrides.port !== undefined) {
    const want = overrides.port;
    const declared =
      "name" in want ? tcp.find((p) => p.name === want.name) : tcp.find((p) => p.containerPort === want.number);
    if ("name" in want && !declared) {
      return reject(
        "invalid_override",
        `annotation ${PORT_ANNOTATION} names port "${want.name}", but container "${mcp.name}" declares ${describePorts(tcp)}`,
      );
    }
    return takeover(declared, declared?.containerPort ?? (want as { number: number }).number);
  }
  if (tcp.length <= 1) return takeover(tcp[0], tcp[0]?.containerPort ?? policy.injection.listenPort);
  const declared =
    tcp.find((p) => p.name === "mcp") ??
    tcp.find((p) => p.name === "http") ??
    tcp.find((p) => p.containerPort === policy.injection.listenPort);
  if (declared) return takeover(declared, declared.containerPort);
  return reject(
    "ambiguous_port",
    `container "${mcp.name}" declares ${describePorts(tcp)} and mcp-warden cannot tell which one serves MCP: ` +
      `add the annotation ${PORT_ANNOTATION}: <port name or number> naming the port the Service targets`,
  );
}

function takeover(declared: V1ContainerPort | undefined, containerPort: number): Takeover {
  const port: TakenPort = {
    name: declared?.name ?? "mcp",
    containerPort,
    declared: declared !== undefined,
    ...(declared?.hostPort !== undefined ? { hostPort: declared.hostPort } : {}),
    ...(declared?.hostIP !== undefined ? { hostIP: declared.hostIP } : {}),
  };
  return { ok: true, port, declared };
}

/** Whether the ports the sidecar and the moved server need collide with each other or with the pod's. */
function portCollision(
  pod: V1Pod,
  policy: PolicyEntry,
  p: { mcp: V1Container; takeover: Takeover; upstreamPort: number; adminPort: number },
): Rejection | undefined {
  const { mcp, upstreamPort, adminPort } = p;
  const { port, declared } = p.takeover;
  const number = port.containerPort;
  const ref = `McpPolicy ${policy.name}`;
  const allPorts = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].flatMap((c) =>
    (c.ports ?? []).map((cp) => ({ container: c.name, port: cp })),
  );
  if (number === upstreamPort) {
    return reject(
      "port_conflict",
      `the sidecar takes over port ${number} of container "${mcp.name}", which is also spec.upstream.port of ${ref}: ` +
        `the MCP server must listen on a different loopback port than the one its Service targets`,
    );
  }
  if (adminPort === number || adminPort === upstreamPort) {
    return reject(
      "port_conflict",
      `the sidecar's admin port ${adminPort} collides with port ${number === adminPort ? number : upstreamPort}: set the annotation ${ADMIN_PORT_ANNOTATION} to a free port`,
    );
  }
  const adminTaken = allPorts.find((a) => a.port.containerPort === adminPort);
  if (adminTaken) {
    return reject(
      "port_conflict",
      `container "${adminTaken.container}" declares port ${adminPort}, which the sidecar needs for its admin endpoints: set the annotation ${ADMIN_PORT_ANNOTATION} to a free port`,
    );
  }
  const names = new Set(
    allPorts
      .filter((a) => a.port !== declared)
      .map((a) => a.port.name)
      .filter(Boolean),
  );
  const taken = [port.name, ADMIN_PORT_NAME].find((name) => names.has(name));
  if (taken)
    return reject(
      "port_conflict",
      `port name "${taken}" is already used in the pod; the sidecar needs it: rename that port`,
    );
  const upstreamElsewhere = allPorts.find((a) => a.port.containerPort === upstreamPort && a.container !== mcp.name);
  if (upstreamElsewhere) {
    return reject(
      "port_conflict",
      `container "${upstreamElsewhere.container}" declares port ${upstreamPort}, the loopback port ${ref} moves the MCP server to (spec.upstream.port)`,
    );
  }
  return undefined;
}

/** What the injection allows but an operator should fix: a reachable server port, an invalid policy. */
function warningsFor(policy: PolicyEntry, mcp: V1Container, upstreamPort: number): string[] {
  const warnings: string[] = [];
  if (tcpPorts(mcp).some((p) => p.containerPort === upstreamPort)) {
    warnings.push(
      `container "${mcp.name}" declares port ${upstreamPort}, the MCP server's own port behind the sidecar: ` +
        `if the server listens on all interfaces there, clients can reach it without the policy; make it listen on 127.0.0.1 only`,
    );
  }
  if (policy.specProblem) {
    warnings.push(
      `McpPolicy ${policy.name} is not valid (${policy.specProblem}); the sidecar denies every call until it is fixed`,
    );
  }
  return warnings;
}

function tcpPorts(container: V1Container): V1ContainerPort[] {
  return (container.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP");
}

export function isKestra(container: V1Container): boolean {
  return imageRepository(container.image ?? "") === KESTRA_IMAGE;
}

/** The image reference without tag or digest: `ghcr.io/a/b:1.2@sha256:…` → `ghcr.io/a/b`. */
export function imageRepository(image: string): string {
  const noDigest = image.split("@")[0] as string;
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
}

function describePorts(ports: V1ContainerPort[]): string {
  if (ports.length === 0) return "no TCP ports";
  return `TCP ports ${ports.map((p) => (p.name ? `${p.containerPort} (${p.name})` : String(p.containerPort))).join(", ")}`;
}

function list(names: string[]): string {
  return names.length === 0 ? "(none)" : names.join(", ");
}
