// The injected sidecar: a native sidecar (an init container with restartPolicy Always) gated by a
// startup probe, so the MCP server starts only once the policy is loaded; a security context that
// passes Pod Security "restricted"; its own projected service-account token (the MCP container gets
// none from us); and the Secrets the policy references, mounted read-only. Its environment follows
// the contract the sidecar reads (program/sidecar-environment.ts).
import type { V1Container, V1EnvVar, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import {
  ADMIN_PORT_NAME,
  API_KEYS_MOUNT_PATH,
  API_KEYS_VOLUME,
  APPROVAL_STATE_KEY_MOUNT_PATH,
  APPROVAL_STATE_KEY_VOLUME,
  SIDECAR_CONTAINER,
  TOKEN_MOUNT_PATH,
  TOKEN_VOLUME,
} from "../names.ts";
import {
  allInterfaces,
  INJECTED_TRACING,
  kubernetesPolicy,
  loopbackUpstream,
  SIDECAR_ENV,
} from "../../program/sidecar-environment.ts";
import type { InjectorConfig } from "./config.ts";
import { heapEnv } from "./heap.ts";
import type { InjectionPlan } from "./plan.ts";

/** The sidecar image's non-root user (distroless "nonroot"). */
export const SIDECAR_UID = 65532;

export function sidecarContainer(plan: InjectionPlan, namespace: string, config: InjectorConfig): V1Container {
  const { policy, port, adminPort } = plan;
  const env: V1EnvVar[] = [
    { name: SIDECAR_ENV.policy, value: kubernetesPolicy(namespace, policy.name) },
    { name: SIDECAR_ENV.upstream, value: loopbackUpstream(plan.upstreamPort, plan.upstreamPath) },
    { name: SIDECAR_ENV.listen, value: allInterfaces(port.containerPort) },
    { name: SIDECAR_ENV.adminListen, value: allInterfaces(adminPort) },
  ];
  const mounts: V1VolumeMount[] = [{ name: TOKEN_VOLUME, mountPath: TOKEN_MOUNT_PATH, readOnly: true }];
  const apiKeys = policy.injection.apiKeysSecret;
  if (apiKeys) {
    // A mounted Secret, not an environment variable: the kubelet updates the file when the Secret
    // changes, and the sidecar reloads grants without a restart.
    env.push({ name: SIDECAR_ENV.apiKeys, value: `${API_KEYS_MOUNT_PATH}/${apiKeys.key}` });
    mounts.push({ name: API_KEYS_VOLUME, mountPath: API_KEYS_MOUNT_PATH, readOnly: true });
  }
  const stateKey = policy.injection.approvalStateKeySecret;
  if (stateKey) {
    // Signs 2026-07-28 approval requestStates; replicas share it, so a state one issues another honours.
    env.push({ name: SIDECAR_ENV.approvalStateKey, value: `${APPROVAL_STATE_KEY_MOUNT_PATH}/${stateKey.key}` });
    mounts.push({ name: APPROVAL_STATE_KEY_VOLUME, mountPath: APPROVAL_STATE_KEY_MOUNT_PATH, readOnly: true });
  }
  const redis = policy.injection.redisSecret;
  if (redis) {
    // The Redis URL carries a password; the store reads it from this variable (ADR 0401).
    env.push({ name: SIDECAR_ENV.redisUrl, valueFrom: { secretKeyRef: { name: redis.name, key: redis.key } } });
  }
  if (config.otlpEndpoint) {
    // Traces of every request and decision, to the collector the operator exports to as well.
    env.push(
      { name: SIDECAR_ENV.tracing, value: INJECTED_TRACING },
      { name: SIDECAR_ENV.otlpEndpoint, value: config.otlpEndpoint },
    );
  }
  const resources = structuredClone(policy.injection.resources ?? config.defaultResources);
  const heap = heapEnv(resources);
  if (heap) env.push(heap);
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: adminPort },
    periodSeconds,
    timeoutSeconds: 1,
    failureThreshold,
  });
  const containerPort = {
    name: port.name,
    containerPort: port.containerPort,
    protocol: "TCP",
    ...(port.hostPort !== undefined ? { hostPort: port.hostPort } : {}),
    ...(port.hostIP !== undefined ? { hostIP: port.hostIP } : {}),
  };
  return {
    name: SIDECAR_CONTAINER,
    image: config.sidecarImage,
    imagePullPolicy: config.imagePullPolicy,
    restartPolicy: "Always",
    args: ["sidecar"],
    env,
    ports: [containerPort, { name: ADMIN_PORT_NAME, containerPort: adminPort, protocol: "TCP" }],
    resources,
    // Native sidecars hold the pod's other containers until the startup probe passes: the MCP
    // server never takes traffic before the policy is loaded. Readiness reflects "has a policy".
    startupProbe: probe("/readyz", 1, 300),
    readinessProbe: probe("/readyz", 5, 3),
    livenessProbe: probe("/healthz", 10, 3),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      seccompProfile: { type: "RuntimeDefault" },
    },
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: mounts,
  };
}

export function sidecarVolumes(plan: InjectionPlan, config: InjectorConfig): V1Volume[] {
  const volumes: V1Volume[] = [
    {
      // What the kubelet mounts for in-cluster clients, for the sidecar only.
      name: TOKEN_VOLUME,
      projected: {
        defaultMode: 0o444,
        sources: [
          { serviceAccountToken: { path: "token", expirationSeconds: config.tokenExpirationSeconds } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          {
            downwardAPI: {
              items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
            },
          },
        ],
      },
    },
  ];
  const apiKeys = plan.policy.injection.apiKeysSecret;
  if (apiKeys) {
    volumes.push({
      name: API_KEYS_VOLUME,
      secret: { secretName: apiKeys.name, items: [{ key: apiKeys.key, path: apiKeys.key }], defaultMode: 0o444 },
    });
  }
  const stateKey = plan.policy.injection.approvalStateKeySecret;
  if (stateKey) {
    volumes.push({
      name: APPROVAL_STATE_KEY_VOLUME,
      secret: { secretName: stateKey.name, items: [{ key: stateKey.key, path: stateKey.key }], defaultMode: 0o444 },
    });
  }
  return volumes;
}
