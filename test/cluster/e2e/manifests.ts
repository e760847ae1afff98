// What the end-to-end scenarios apply: McpPolicies, and Deployments and Pods of MCP servers written
// as a user would write them for a namespace that enforces Pod Security "restricted".
import type { V1Container, V1Deployment, V1Pod, V1PodSpec } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { z } from "zod";
import { API_GROUP, API_VERSION, KIND, type McpPolicySpec } from "../../../policy/schema.ts";

export type McpPolicySpecInput = z.input<typeof McpPolicySpec>;

/** The Kestra MCP server's image; nothing is pulled (no kubelet), the injector recognises it by name. */
export const KESTRA_IMAGE_REF = "ghcr.io/kestra-io/mcp-server-python:latest";
export const GENERIC_IMAGE_REF = "docker.io/example/everything-mcp:1.4.0";

export function mcpPolicy(name: string, namespace: string, spec: McpPolicySpecInput): Record<string, unknown> {
  return { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, metadata: { name, namespace }, spec };
}

/** Documents for `kubectl apply -f -`. */
export function yaml(...documents: object[]): string {
  return documents.map((d) => stringify(d)).join("---\n");
}

/**
 * The security context "restricted" asks of every container. The Kestra image runs as root, so its
 * container needs one too in such a namespace (the injected sidecar already has its own).
 */
export const RESTRICTED_POD_SECURITY = {
  runAsNonRoot: true,
  runAsUser: 1000,
  seccompProfile: { type: "RuntimeDefault" },
};
export const RESTRICTED_CONTAINER_SECURITY = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };

export interface ServerOptions {
  labels: Record<string, string>;
  /** The port the pod's Services target (the sidecar takes it over). */
  port?: number;
  image?: string;
  /** Default true: pod and container security contexts that pass "restricted". */
  restricted?: boolean;
  annotations?: Record<string, string>;
  hostNetwork?: boolean;
}

export function kestraContainer(options: ServerOptions): V1Container {
  return {
    name: "kestra",
    image: options.image ?? KESTRA_IMAGE_REF,
    env: [
      { name: "KESTRA_BASE_URL", value: "http://kestra.kestra.svc:8080/api/v1" },
      { name: "KESTRA_TENANT_ID", value: "main" },
    ],
    ports: [{ name: "mcp", containerPort: options.port ?? 8000 }],
    ...(options.restricted === false ? {} : { securityContext: RESTRICTED_CONTAINER_SECURITY }),
  };
}

export function serverPodSpec(options: ServerOptions): V1PodSpec {
  return {
    ...(options.restricted === false ? {} : { securityContext: RESTRICTED_POD_SECURITY }),
    ...(options.hostNetwork ? { hostNetwork: true } : {}),
    containers: [kestraContainer(options)],
  };
}

export function serverPod(name: string, options: ServerOptions): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: options.labels, ...(options.annotations ? { annotations: options.annotations } : {}) },
    spec: serverPodSpec(options),
  };
}

/**
 * A Deployment of an MCP server. Recreate, because without a kubelet new pods never become Ready:
 * a rolling update would wait for them forever, Recreate deletes the old pods (unscheduled pods go
 * at once) and creates the new ones.
 */
export function serverDeployment(
  name: string,
  namespace: string,
  replicas: number,
  options: ServerOptions,
): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: options.labels },
    spec: {
      replicas,
      strategy: { type: "Recreate" },
      selector: { matchLabels: options.labels },
      template: {
        metadata: { labels: options.labels, ...(options.annotations ? { annotations: options.annotations } : {}) },
        spec: serverPodSpec(options),
      },
    },
  };
}
