// The names mcp-warden puts into clusters: labels, annotations, and what the injector adds to pods.
// They are API: users select on them and tooling reads them, so they change only with care.
import { API_GROUP } from "../policy/schema.ts";

/** Namespace label that opts a namespace into injection (the webhook's namespaceSelector). */
export const INJECTION_NAMESPACE_LABEL = `${API_GROUP}/injection`;
export const INJECTION_ENABLED = "enabled";
/** Pod label that opts a pod out: `mcpwarden.io/inject: "false"` (the webhook's objectSelector). */
export const INJECT_POD_LABEL = `${API_GROUP}/inject`;
/** Label the injector sets on injected pods: the McpPolicy that governs them. */
export const POLICY_POD_LABEL = `${API_GROUP}/policy`;
/** Annotation recording what was injected; its presence makes injection idempotent. */
export const STATUS_ANNOTATION = `${API_GROUP}/status`;

/** Per-pod overrides, validated at admission (a bad value rejects the pod with a clear message). */
export const CONTAINER_ANNOTATION = `${API_GROUP}/container`;
export const PORT_ANNOTATION = `${API_GROUP}/port`;
export const ADMIN_PORT_ANNOTATION = `${API_GROUP}/admin-port`;

export const SIDECAR_CONTAINER = "mcp-warden";
export const TOKEN_VOLUME = "mcp-warden-token";
export const API_KEYS_VOLUME = "mcp-warden-api-keys";
/** The sidecar reads its service-account token where in-cluster clients expect it. */
export const TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
export const API_KEYS_MOUNT_PATH = "/etc/mcp-warden/api-keys";
export const APPROVAL_STATE_KEY_VOLUME = "mcp-warden-approval-state-key";
export const APPROVAL_STATE_KEY_MOUNT_PATH = "/etc/mcp-warden/approval-state-key";
export const ADMIN_PORT_NAME = "warden-admin";
export const DEFAULT_ADMIN_PORT = 9090;
/** Where a profile-started MCP server listens when the policy does not say (see ADR 0302). */
export const DEFAULT_PROFILE_UPSTREAM_PORT = 18000;

export const KESTRA_IMAGE = "ghcr.io/kestra-io/mcp-server-python";

/** Labels on everything the operator creates, so it can find (and only touch) its own objects. */
export const MANAGED_BY_LABELS = {
  "app.kubernetes.io/managed-by": "mcp-warden",
  "app.kubernetes.io/part-of": "mcp-warden",
} as const;

/** Namespaces the injector never touches, whatever their labels say. */
export const SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"] as const;
