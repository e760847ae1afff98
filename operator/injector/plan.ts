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

const RESERVED_VOLUMES = new Set([TOKEN_VOLUME, API_KEYS_VOLUME, APPROVAL_STATE_KEY_VOLUME]);
const reject = (reason: RejectReason, message: string): PlanResult => ({ ok: false, reason, message });

export function planInjection(pod: V1Pod, policy: PolicyEntry, overrides: PodOverrides): PlanResult {
  const containers = pod.spec?.containers ?? [];
  const ref = `McpPolicy ${policy.name}`;
  if (containers.some((c) => c.name === SIDECAR_CONTAINER)) {
    return reject("reserved_name", `container name "${SIDECAR_CONTAINER}" is reserved for the mcp-warden sidecar: rename the container`);
  }
  const reservedVolume = (pod.spec?.volumes ?? []).find((v) => RESERVED_VOLUMES.has(v.name));
  if (reservedVolume) {
    return reject("reserved_name", `volume name "${reservedVolume.name}" is reserved for the mcp-warden sidecar: rename the volume`);
  }

  // The MCP container
  let container: V1Container | undefined;
  if (overrides.container !== undefined) {
    container = containers.find((c) => c.name === overrides.container);
    if (!container) {
      return reject("invalid_override", `annotation ${CONTAINER_ANNOTATION} names container "${overrides.container}", but the pod's containers are ${list(containers.map((c) => c.name))}`);
    }
  } else {
    const kestra = containers.filter(isKestra);
    if (kestra.length === 1) container = kestra[0];
    else if (containers.length === 1) container = containers[0];
    else {
      return reject(
        "ambiguous_container",
        `pod has ${containers.length} containers (${list(containers.map((c) => c.name))}) and mcp-warden cannot tell which runs the MCP server: ` +
          `add the annotation ${CONTAINER_ANNOTATION}: <container name>`,
      );
    }
  }
  const mcp = container as V1Container;
  const profile = policy.injection.profile === "kestra" || isKestra(mcp) ? "kestra" : "generic";

  // Where the server moves to
  const upstreamPort = policy.injection.upstreamPort ?? (profile === "kestra" ? DEFAULT_PROFILE_UPSTREAM_PORT : undefined);
  if (upstreamPort === undefined) {
    return reject(
      "missing_upstream_port",
      `${ref} does not set spec.upstream.port, and container "${mcp.name}" (image ${mcp.image ?? "?"}) is not an MCP server mcp-warden knows how to move: ` +
        `configure the server to listen on 127.0.0.1:<port> and set spec.upstream.port to that port (or spec.upstream.profile if a profile fits)`,
    );
  }

  // The port the sidecar takes over
  const tcp = (mcp.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP");
  let declared: V1ContainerPort | undefined;
  let number: number;
  if (overrides.port !== undefined) {
    const want = overrides.port;
    declared = "name" in want ? tcp.find((p) => p.name === want.name) : tcp.find((p) => p.containerPort === want.number);
    if ("name" in want && !declared) {
      return reject("invalid_override", `annotation ${PORT_ANNOTATION} names port "${want.name}", but container "${mcp.name}" declares ${describePorts(tcp)}`);
    }
    number = declared?.containerPort ?? (want as { number: number }).number;
  } else if (tcp.length === 1) {
    declared = tcp[0];
    number = (declared as V1ContainerPort).containerPort;
  } else if (tcp.length === 0) {
    number = policy.injection.listenPort;
  } else {
    declared = tcp.find((p) => p.name === "mcp") ?? tcp.find((p) => p.name === "http") ?? tcp.find((p) => p.containerPort === policy.injection.listenPort);
    if (!declared) {
      return reject(
        "ambiguous_port",
        `container "${mcp.name}" declares ${describePorts(tcp)} and mcp-warden cannot tell which one serves MCP: ` +
          `add the annotation ${PORT_ANNOTATION}: <port name or number> naming the port the Service targets`,
      );
    }
    number = declared.containerPort;
  }
  const port: TakenPort = {
    name: declared?.name ?? "mcp",
    containerPort: number,
    declared: declared !== undefined,
    ...(declared?.hostPort !== undefined ? { hostPort: declared.hostPort } : {}),
    ...(declared?.hostIP !== undefined ? { hostIP: declared.hostIP } : {}),
  };

  // Collisions
  const adminPort = overrides.adminPort ?? DEFAULT_ADMIN_PORT;
  const allPorts = [...containers, ...(pod.spec?.initContainers ?? [])].flatMap((c) => (c.ports ?? []).map((p) => ({ container: c.name, port: p })));
  if (number === upstreamPort) {
    return reject(
      "port_conflict",
      `the sidecar takes over port ${number} of container "${mcp.name}", which is also spec.upstream.port of ${ref}: ` +
        `the MCP server must listen on a different loopback port than the one its Service targets`,
    );
  }
  if (adminPort === number || adminPort === upstreamPort) {
    return reject("port_conflict", `the sidecar's admin port ${adminPort} collides with port ${number === adminPort ? number : upstreamPort}: set the annotation ${ADMIN_PORT_ANNOTATION} to a free port`);
  }
  const adminTaken = allPorts.find((p) => p.port.containerPort === adminPort);
  if (adminTaken) {
    return reject("port_conflict", `container "${adminTaken.container}" declares port ${adminPort}, which the sidecar needs for its admin endpoints: set the annotation ${ADMIN_PORT_ANNOTATION} to a free port`);
  }
  const names = new Set(allPorts.filter((p) => p.port !== declared).map((p) => p.port.name).filter(Boolean));
  for (const name of [port.name, ADMIN_PORT_NAME]) {
    if (names.has(name)) return reject("port_conflict", `port name "${name}" is already used in the pod; the sidecar needs it: rename that port`);
  }
  const upstreamElsewhere = allPorts.find((p) => p.port.containerPort === upstreamPort && p.container !== mcp.name);
  if (upstreamElsewhere) {
    return reject("port_conflict", `container "${upstreamElsewhere.container}" declares port ${upstreamPort}, the loopback port ${ref} moves the MCP server to (spec.upstream.port)`);
  }

  const warnings: string[] = [];
  if (tcp.some((p) => p.containerPort === upstreamPort)) {
    warnings.push(
      `container "${mcp.name}" declares port ${upstreamPort}, the MCP server's own port behind the sidecar: ` +
        `if the server listens on all interfaces there, clients can reach it without the policy; make it listen on 127.0.0.1 only`,
    );
  }
  if (policy.specProblem) {
    warnings.push(`${ref} is not valid (${policy.specProblem}); the sidecar denies every call until it is fixed`);
  }
  return { ok: true, plan: { policy, container: mcp.name, profile, port, upstreamPort, upstreamPath: policy.injection.upstreamPath, adminPort, warnings } };
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
