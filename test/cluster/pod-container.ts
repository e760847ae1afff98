// Runs one container of a stored (never scheduled) pod as a local process, the way the kubelet would
// start it: the container's args and environment exactly as stored (valueFrom resolved from the
// API), the environment the kubelet adds (KUBERNETES_SERVICE_*, HOSTNAME), and its service-account
// volume, with a token from the TokenRequest API bound to the pod, mounted where the container
// expects it. The mount happens in a private mount namespace (`unshare --mount`, so root is needed),
// which is what a container runtime does too; the host's /var/run is never touched. Readiness is the
// container's own startup probe.
import { join } from "node:path";
import { CoreV1Api, type V1Container, type V1EnvVar, type V1Pod, type V1Probe } from "@kubernetes/client-node";
import type { ControlPlane } from "./control-plane.ts";
import type { PodServiceAccountVolume } from "./pod-identity.ts";
import { ComponentProcess, type ExitStatus } from "./processes.ts";
import { waitUntilReady } from "./wait.ts";

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface PodContainerOptions {
  namespace: string;
  pod: string;
  container: string;
  /** The image's ENTRYPOINT, e.g. [node, cli/mcp-warden.ts] for the mcp-warden image. */
  entrypoint: string[];
  /** For the log file name; default `<pod>-<container>`. */
  name?: string;
}

export interface PodContainer {
  pod: V1Pod;
  container: V1Container;
  /** The environment the process got. */
  env: Record<string, string>;
  volume: PodServiceAccountVolume;
  process: ComponentProcess;
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<ExitStatus>;
  logTail(lines?: number): string;
}

export async function runPodContainer(cluster: ControlPlane, options: PodContainerOptions): Promise<PodContainer> {
  if (process.getuid?.() !== 0)
    throw new Error(
      "running a pod's container as a local process needs root (a private mount namespace for its service-account volume)",
    );
  const core = cluster.client(CoreV1Api);
  const pod = await core.readNamespacedPod({ namespace: options.namespace, name: options.pod });
  const container = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
    (c) => c.name === options.container,
  );
  if (!container) throw new Error(`pod ${options.namespace}/${options.pod} has no container ${options.container}`);
  if (container.command?.length)
    throw new Error(`container ${options.container} overrides the image's entrypoint; not supported here`);

  const expirationSeconds = serviceAccountVolumeOf(pod, container);
  const volume = await cluster.podServiceAccountVolume(options.namespace, options.pod, { expirationSeconds });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOSTNAME: options.pod,
    ...volume.env,
    ...(await resolveEnv(core, pod, container.env ?? [])),
  };
  const name = options.name ?? `${options.pod}-${options.container}`;
  const component = ComponentProcess.spawn({
    name,
    binary: "unshare",
    // /var/run is a symlink to /run on Debian; binding the pod's var/run there gives the process
    // <prefix>/var/run/secrets/kubernetes.io/serviceaccount at the path in-cluster clients read.
    args: [
      "--mount",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      'mount --bind "$0" /var/run && exec "$@"',
      join(volume.pathPrefix, "var", "run"),
      ...options.entrypoint,
      ...(container.args ?? []),
    ],
    logFile: join(cluster.dir, "logs", `${name}.log`),
    env,
  });
  try {
    await waitForStartupProbe(container.startupProbe, component);
  } catch (error) {
    await component.stop({ signal: "SIGKILL" });
    throw error;
  }
  component.supervise();
  return {
    pod,
    container,
    env,
    volume,
    process: component,
    stop: (signal = "SIGTERM") => component.stop({ signal, graceMs: 20_000 }),
    logTail: (lines = 40) => component.logTail(lines),
  };
}

/** The container's service-account volume must be the projected one the kubelet fills; returns its token lifetime. */
function serviceAccountVolumeOf(pod: V1Pod, container: V1Container): number | undefined {
  const mounts = container.volumeMounts ?? [];
  const unsupported = mounts.filter((m) => m.mountPath !== SERVICE_ACCOUNT_DIR);
  if (unsupported.length > 0)
    throw new Error(
      `volume mounts other than ${SERVICE_ACCOUNT_DIR} are not supported here: ${unsupported.map((m) => m.mountPath).join(", ")}`,
    );
  const mount = mounts[0];
  if (!mount)
    throw new Error(`container ${container.name} mounts no service-account token: it could not reach the API`);
  const sources = pod.spec?.volumes?.find((v) => v.name === mount.name)?.projected?.sources ?? [];
  const token = sources.find((s) => s.serviceAccountToken)?.serviceAccountToken;
  const ca = sources.find((s) => s.configMap?.name === "kube-root-ca.crt")?.configMap;
  const namespace = sources
    .find((s) => s.downwardAPI)
    ?.downwardAPI?.items?.find((i) => i.fieldRef?.fieldPath === "metadata.namespace");
  if (token?.path !== "token" || ca?.items?.[0]?.path !== "ca.crt" || namespace?.path !== "namespace") {
    throw new Error(
      `volume ${mount.name} is not the kubelet's service-account layout (token, ca.crt from kube-root-ca.crt, namespace)`,
    );
  }
  return token.expirationSeconds;
}

async function resolveEnv(core: CoreV1Api, pod: V1Pod, vars: V1EnvVar[]): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const namespace = pod.metadata?.namespace as string;
  for (const v of vars) {
    if (v.value !== undefined) {
      env[v.name] = v.value;
    } else if (v.valueFrom?.secretKeyRef) {
      const { name, key } = v.valueFrom.secretKeyRef;
      const secret = await core.readNamespacedSecret({ namespace, name: name as string });
      const data = secret.data?.[key];
      if (data === undefined) throw new Error(`env ${v.name}: Secret ${namespace}/${name} has no key ${key}`);
      env[v.name] = Buffer.from(data, "base64").toString("utf8");
    } else if (v.valueFrom?.fieldRef) {
      const fields: Record<string, string | undefined> = {
        "metadata.name": pod.metadata?.name,
        "metadata.namespace": namespace,
        "spec.serviceAccountName": pod.spec?.serviceAccountName,
      };
      const value = fields[v.valueFrom.fieldRef.fieldPath];
      if (value === undefined)
        throw new Error(`env ${v.name}: fieldRef ${v.valueFrom.fieldRef.fieldPath} is not supported here`);
      env[v.name] = value;
    } else {
      throw new Error(`env ${v.name}: this kind of valueFrom is not supported here`);
    }
  }
  return env;
}

/** Polls the startup probe (httpGet on the pod's loopback, here the host's) as the kubelet would. */
async function waitForStartupProbe(probe: V1Probe | undefined, component: ComponentProcess): Promise<void> {
  const get = probe?.httpGet;
  if (!get || typeof get.port !== "number")
    throw new Error(`${component.name} has no httpGet startup probe with a port number`);
  const url = `http://127.0.0.1:${get.port}${get.path ?? "/"}`;
  await waitUntilReady(
    async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout((probe?.timeoutSeconds ?? 1) * 1000) });
      return response.status >= 200 && response.status < 400;
    },
    {
      description: `${component.name} startup probe ${url}`,
      components: [component],
      timeoutMs: 60_000,
      intervalMs: 100,
    },
  );
}
