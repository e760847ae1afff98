// What the kubelet gives a pod's containers to reach the API, for a process a test runs "as" a
// stored (never running) pod: the service-account directory (token bound to the pod, ca.crt,
// namespace) and the KUBERNETES_SERVICE_* environment. @kubernetes/client-node reads it with
// KubeConfig.loadFromCluster(pathPrefix).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CoreV1Api } from "@kubernetes/client-node";
import { requestServiceAccountToken } from "./credentials.ts";

export interface PodServiceAccountVolume {
  /** Prefix of /var/run/secrets/kubernetes.io/serviceaccount, for KubeConfig.loadFromCluster(pathPrefix). */
  pathPrefix: string;
  /** <pathPrefix>/var/run/secrets/kubernetes.io/serviceaccount */
  dir: string;
  tokenFile: string;
  caFile: string;
  namespaceFile: string;
  serviceAccount: string;
  /** The environment the kubelet sets for the API server's Service: here, the test API server. */
  env: { KUBERNETES_SERVICE_HOST: string; KUBERNETES_SERVICE_PORT: string };
}

export interface PodIdentityContext {
  core: CoreV1Api;
  server: string;
  caPem: string;
  /** A fresh directory to become the pod's filesystem root for these files. */
  pathPrefix: string;
}

export async function writePodServiceAccountVolume(
  context: PodIdentityContext,
  namespace: string,
  podName: string,
  options: { expirationSeconds?: number } = {},
): Promise<PodServiceAccountVolume> {
  const pod = await context.core.readNamespacedPod({ namespace, name: podName });
  const serviceAccount = pod.spec?.serviceAccountName ?? "default";
  const { token } = await requestServiceAccountToken(context.core, namespace, serviceAccount, {
    expirationSeconds: options.expirationSeconds ?? 3607, // the kubelet's default for kube-api-access volumes
    boundPod: { name: podName, uid: pod.metadata!.uid! },
  });
  const dir = join(context.pathPrefix, "var", "run", "secrets", "kubernetes.io", "serviceaccount");
  await mkdir(dir, { recursive: true });
  const files = { tokenFile: join(dir, "token"), caFile: join(dir, "ca.crt"), namespaceFile: join(dir, "namespace") };
  await Promise.all([
    writeFile(files.tokenFile, token, { mode: 0o600 }),
    writeFile(files.caFile, context.caPem),
    writeFile(files.namespaceFile, namespace),
  ]);
  const url = new URL(context.server);
  return {
    pathPrefix: context.pathPrefix,
    dir,
    ...files,
    serviceAccount,
    env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
  };
}
