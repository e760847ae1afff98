// Runs a pod the injector changed, as processes on this machine (the test cluster has no kubelet): the
// MCP container's command (the FastMCP Kestra server, by the injector's "kestra" profile) and the
// injected `mcp-warden` container's command and environment, as the pod's service account. Only the
// ports move, to free loopback ports, so tests can run side by side; the sidecar's stdout (the audit
// log) and stderr go to files, as `kubectl logs` would show them.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, type V1Container, type V1Pod } from "@kubernetes/client-node";
import { startKestraFastMcp, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";
import type { OperatorCluster } from "./operator-cluster.ts";
import { startPeer, type Peer } from "./processes.ts";
import { freePort } from "./ports.ts";

export interface RunningPod {
  pod: V1Pod;
  sidecarContainer: V1Container;
  mcpContainer: V1Container;
  kestra: KestraFastMcp;
  /** The MCP endpoint the Service would reach, on this machine. */
  url: string;
  /** The sidecar's admin endpoint (its port 9090 in the pod). */
  adminUrl: string;
  /** The sidecar's standard output so far (the audit log). */
  stdout(): string;
  stdoutFile: string;
  stop(): Promise<void>;
}

export async function runInjectedPod(oc: OperatorCluster, namespace: string, name: string): Promise<RunningPod> {
  const pod = await oc.cluster.client(CoreV1Api).readNamespacedPod({ namespace, name });
  const sidecarContainer = pod.spec?.initContainers?.find((c) => c.name === "mcp-warden");
  if (!sidecarContainer) throw new Error(`pod ${namespace}/${name} has no mcp-warden sidecar`);
  const status = JSON.parse(pod.metadata?.annotations?.["mcpwarden.io/status"] ?? "{}") as {
    container: string;
    upstreamPort: number;
  };
  const mcpContainer = pod.spec?.containers.find((c) => c.name === status.container) as V1Container;

  const dir = mkdtempSync(join(tmpdir(), `pod-${name}-`));
  const serviceAccount = pod.spec?.serviceAccountName ?? "default";
  const credentials = await oc.cluster.serviceAccountCredentials(namespace, serviceAccount);
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, (await oc.cluster.requestServiceAccountToken(namespace, serviceAccount)).token);

  const kestra = await startKestraFastMcp();
  const [listen, admin] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    (sidecarContainer.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
  );
  const upstream = new URL(env.MCP_WARDEN_UPSTREAM as string);
  upstream.port = String(kestra.port);
  Object.assign(env, {
    MCP_WARDEN_UPSTREAM: upstream.href,
    MCP_WARDEN_LISTEN: `127.0.0.1:${listen}`,
    MCP_WARDEN_ADMIN_LISTEN: `127.0.0.1:${admin}`,
    // The pod's service account: what the projected token volume gives the sidecar in the cluster.
    KUBECONFIG: credentials.kubeconfigPath,
    MCP_WARDEN_KUBERNETES_API: oc.cluster.server,
    MCP_WARDEN_KUBERNETES_TOKEN_FILE: tokenFile,
    MCP_WARDEN_KUBERNETES_CA_FILE: oc.cluster.caFile,
  });
  const stdoutFile = join(dir, "stdout");
  const command = ["mcp-warden", ...(sidecarContainer.args ?? [])].join(" ");
  const sidecar: Peer = startPeer("/bin/sh", ["-c", `exec ${command} >"${stdoutFile}" 2>"${join(dir, "stderr")}"`], {
    env: { ...oc.env, ...env },
  });
  const adminUrl = `http://127.0.0.1:${admin}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${adminUrl}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (sidecar.child.exitCode !== null || Date.now() > deadline) {
      await kestra.stop();
      await sidecar.stop();
      throw new Error(
        `the sidecar of ${name} did not become ready:\n${readFileSync(join(dir, "stderr"), "utf8").slice(-3000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    pod,
    sidecarContainer,
    mcpContainer,
    kestra,
    url: `http://127.0.0.1:${listen}${upstream.pathname}`,
    adminUrl,
    stdout: () => readFileSync(stdoutFile, "utf8"),
    stdoutFile,
    async stop() {
      await sidecar.stop();
      await kestra.stop();
    },
  };
}
