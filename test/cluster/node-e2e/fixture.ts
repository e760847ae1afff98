// The node-backed scenarios' shared objects: the chart installed with helm, the Kestra Deployment and
// its Service, the seed policies (examples/kestra-{resume,restart}.policylayer.json imported with
// `mcp-warden policy import`, then given a pod selector, the Kestra profile and Kubernetes identity),
// an agent pod, and an MCP client in the test process that calls through the Service with a token of
// the agent's service account (the root namespace reaches Service IPs through the node's veth).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { CoreV1Api, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { parse, stringify } from "yaml";
import { readInjectionStatus, type InjectionStatus } from "../../../operator/injector/mutate.ts";
import { DEFAULT_PROFILE_UPSTREAM_PORT, SIDECAR_CONTAINER } from "../../../operator/names.ts";
import { CHART_DIR } from "../../chart/chart.ts";
import type { NodeCluster } from "../harness.ts";
import { AGENT_IMAGE, KESTRA_IMAGE } from "../images/images.ts";
import { agentPod, waitForPodReady } from "../pods.ts";
import { PROBE_PREFIX } from "../../../sidecar/enforcement/missing-tool-answer.ts";
import { eventually } from "../../support/eventually.ts";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "..", "..", "..");

export const OPERATOR_NS = "mcp-warden";
export const AGENTS = "agents";
export const CALLERS = "callers";
export const AGENT_SA = "agent";
export const RESTRICTED = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
};
export const KESTRA_LABELS = { app: "kestra-mcp" };

/** A seed policy as `mcp-warden policy import` writes it, completed as a user deploys it. */
export async function seedPolicy(seed: "resume" | "restart", extra: Record<string, unknown> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, [
    join(REPO, "cli", "mcp-warden.ts"),
    "policy",
    "import",
    join(REPO, "examples", `kestra-${seed}.policylayer.json`),
    "--name",
    "kestra",
    "--namespace",
    AGENTS,
  ]);
  const policy = parse(stdout) as { spec: Record<string, unknown> };
  policy.spec = {
    podSelector: { matchLabels: KESTRA_LABELS },
    upstream: { profile: "kestra" },
    identity: { kubernetes: {} },
    ...policy.spec,
    ...extra,
  };
  return stringify(policy);
}

export function kestraDeployment(replicas = 1, annotations: Record<string, string> = {}): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "kestra-mcp", namespace: AGENTS, labels: KESTRA_LABELS },
    spec: {
      replicas,
      selector: { matchLabels: KESTRA_LABELS },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: KESTRA_LABELS, annotations },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: "kestra",
              image: KESTRA_IMAGE,
              imagePullPolicy: "IfNotPresent",
              env: [{ name: "KESTRA_BASE_URL", value: "http://kestra.kestra.svc:8080/api/v1" }],
              ports: [{ name: "mcp", containerPort: 8000 }],
              // Ready once the server listens. The sidecar's own readiness says nothing about the
              // server behind it (it starts first), and a probe of the "mcp" port would reach the
              // sidecar, which refuses unauthenticated requests: so the probe runs in the container,
              // against the loopback port the Kestra profile moves the server to.
              readinessProbe: {
                exec: {
                  command: [
                    "python",
                    "-c",
                    `import socket; socket.create_connection(("127.0.0.1", ${DEFAULT_PROFILE_UPSTREAM_PORT}), 1)`,
                  ],
                },
                periodSeconds: 1,
                timeoutSeconds: 3,
              },
              // The server keeps answering while the endpoint removal reaches kube-proxy: without this,
              // a terminating pod's sidecar (which outlives its main container) answers 502 meanwhile.
              lifecycle: { preStop: { sleep: { seconds: 3 } } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    },
  };
}

export const KESTRA_SERVICE = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "kestra-mcp", namespace: AGENTS },
  spec: {
    selector: KESTRA_LABELS,
    sessionAffinity: "ClientIP",
    ports: [{ name: "mcp", port: 8000, targetPort: "mcp" }],
  },
};

export function yamlDocs(...documents: object[]): string {
  return documents.map((d) => stringify(d)).join("---\n");
}

export async function installChart(cluster: NodeCluster, extraArgs: string[] = []): Promise<number> {
  const started = performance.now();
  await cluster.helm(
    ["install", "mcp-warden", CHART_DIR, "--namespace", OPERATOR_NS, "--wait", "--timeout", "5m", ...extraArgs],
    { timeoutMs: 330_000 },
  );
  return performance.now() - started;
}

export function injection(pod: V1Pod): InjectionStatus {
  const status = readInjectionStatus(pod.metadata?.annotations);
  if (!status) throw new Error(`pod ${pod.metadata?.name} carries no injection status`);
  return status;
}

export function sidecarStatus(pod: V1Pod) {
  return pod.status?.initContainerStatuses?.find((s) => s.name === SIDECAR_CONTAINER);
}

export async function kestraPods(core: CoreV1Api): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: AGENTS, labelSelector: "app=kestra-mcp" })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
}

/** The agent pod in the callers namespace, with its service account. */
export async function startAgent(cluster: NodeCluster, core: CoreV1Api, name = "agent"): Promise<string> {
  await core.createNamespacedPod({ namespace: CALLERS, body: agentPod(name, AGENT_IMAGE, { app: name }, AGENT_SA) });
  const pod = await waitForPodReady(core, CALLERS, name);
  return pod.status!.podIP!;
}

/** The tool calls that reached the Kestra server, from its container's log (one JSON line each). */
/** The tools the Kestra container logged calls of, without the sidecar's own probe of a tool that cannot exist (ADR 0122). */
export async function kestraLoggedCalls(cluster: NodeCluster, pod: string): Promise<string[]> {
  const { stdout } = await cluster.kubectl(["logs", "-n", AGENTS, pod, "-c", "kestra"]);
  const events = stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { event?: string; tool?: string });
  return events.flatMap((e) =>
    e.event === "tool_call" && e.tool !== undefined && !e.tool.startsWith(PROBE_PREFIX) ? [e.tool] : [],
  );
}

/** An MCP client in the test process, through the Kestra Service, as the agent's service account. */
export async function serviceClient(cluster: NodeCluster, serviceIp: string, token?: string): Promise<Client> {
  const bearer =
    token ??
    (
      await cluster.requestServiceAccountToken(CALLERS, AGENT_SA, {
        audiences: ["mcp-warden"],
        expirationSeconds: 3600,
      })
    ).token;
  const client = new Client({ name: "node-e2e", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://${serviceIp}:8000/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${bearer}` } },
    }),
  );
  return client;
}

/** Outcomes of calls made one after another through the Service while something changes underneath. */
export interface CallProbe {
  readonly outcomes: { enforced: number; failed: number; passed: number };
  /** Failure messages (first 120 characters) and how often each was seen. */
  readonly errors: Map<string, number>;
  stop(): Promise<void>;
}

/** Calls `call` (a denied tool) through the Service, a new session each time, until stopped. */
export function probeCalls(
  cluster: NodeCluster,
  serviceIp: string,
  token: string,
  call: { name: string; arguments: Record<string, unknown> },
): CallProbe {
  const outcomes = { enforced: 0, failed: 0, passed: 0 };
  const errors = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      let client: Client | undefined;
      try {
        client = await serviceClient(cluster, serviceIp, token);
        if (textOf(await client.callTool(call)).startsWith("[POLICY DENIED]")) outcomes.enforced++;
        else outcomes.passed++;
      } catch (error) {
        outcomes.failed++;
        const message = String((error as Error).message).slice(0, 120);
        errors.set(message, (errors.get(message) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        await client?.close().catch(() => undefined);
      }
    }
  })();
  return {
    outcomes,
    errors,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.find((c) => c.type === "text")?.text ?? "";
}

export async function waitForDeploymentPods(core: CoreV1Api, count: number, timeoutMs = 180_000): Promise<V1Pod[]> {
  return await eventually(
    async () => {
      const pods = await kestraPods(core);
      const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
      if (pods.length !== count || ready.length !== count)
        throw new Error(`${ready.length}/${pods.length} Kestra pods Ready, want ${count}`);
      return ready;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
