// Helpers for suites whose pods run (startNodeCluster): waiting for pods, reading what happened to
// their containers, and driving the agent image (images/agent.js) from the test process. The root
// namespace reaches pod IPs through the node's veth (routes for the pod range), never the reverse
// beyond the API server.
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { eventually } from "../support/eventually.ts";

export async function waitForPod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  check: (pod: V1Pod) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<V1Pod> {
  let last: V1Pod | undefined;
  try {
    return await eventually(
      async () => {
        last = await core.readNamespacedPod({ namespace, name });
        if (!check(last)) throw new Error(`pod ${namespace}/${name} is not ${what} yet`);
        return last;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch (error) {
    throw new Error(
      `pod ${namespace}/${name} did not become ${what} within ${timeoutMs} ms; status: ${JSON.stringify(last?.status ?? {}, null, 1).slice(0, 3000)}`,
      { cause: error },
    );
  }
}

export function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

export async function waitForPodReady(
  core: CoreV1Api,
  namespace: string,
  name: string,
  timeoutMs = 120_000,
): Promise<V1Pod> {
  return await waitForPod(core, namespace, name, isReady, "Ready", timeoutMs);
}

export function podTerminated(pod: V1Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** The pods of a label selector that are Ready, once there are `count` of them. */
export async function waitForReadyPods(
  core: CoreV1Api,
  namespace: string,
  labelSelector: string,
  count: number,
  timeoutMs = 120_000,
): Promise<V1Pod[]> {
  return await eventually(
    async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items.filter(
        (pod) => !pod.metadata?.deletionTimestamp,
      );
      const ready = pods.filter(isReady);
      if (ready.length !== count || pods.length !== count)
        throw new Error(
          `${ready.length} of ${pods.length} pods (${labelSelector}) Ready in ${namespace}, want ${count}`,
        );
      return ready;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

export interface AgentCall {
  name: string;
  arguments?: Record<string, unknown>;
}

export interface AgentCallResult {
  ok: boolean;
  result?: { isError?: boolean; content?: { type: string; text?: string }[]; tools?: { name: string }[] };
  error?: string;
  code?: number;
  ms: number;
}

/** The agent's /calls: one MCP session from inside its pod to `url`, calls in order. */
export async function agentCalls(
  agentIp: string,
  request: { url: string; calls: AgentCall[]; token?: string; tokenPath?: string },
  timeoutMs = 60_000,
): Promise<{ connectError?: string; results: AgentCallResult[] }> {
  const response = await fetch(`http://${agentIp}:8080/calls`, {
    method: "POST",
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`agent answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { connectError?: string; results: AgentCallResult[] };
}

/** The agent's /fetch: a plain HTTP request from inside its pod. */
export async function agentFetch(
  agentIp: string,
  request: { url: string; method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<{ status?: number; body?: string; error?: string }> {
  const response = await fetch(`http://${agentIp}:8080/fetch`, {
    method: "POST",
    body: JSON.stringify(request),
    signal: AbortSignal.timeout((request.timeoutMs ?? 3_000) + 5_000),
  });
  if (!response.ok) throw new Error(`agent answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { status?: number; body?: string; error?: string };
}

/** A text of a tool result (the first text content). */
export function resultText(result: AgentCallResult): string {
  if (!result.ok) return `error: ${result.error}`;
  return result.result?.content?.find((c) => c.type === "text")?.text ?? "";
}

/** The pod spec of an agent: non-root, Pod Security restricted, its token projected for mcp-warden. */
export function agentPod(
  name: string,
  image: string,
  labels: Record<string, string> = { app: "agent" },
  serviceAccountName = "default",
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels },
    spec: {
      serviceAccountName,
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "agent",
          image,
          imagePullPolicy: "Never",
          ports: [{ containerPort: 8080 }],
          readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 1 },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
          volumeMounts: [{ name: "mcp-warden-token", mountPath: "/var/run/secrets/tokens", readOnly: true }],
        },
      ],
      volumes: [
        {
          name: "mcp-warden-token",
          projected: {
            sources: [{ serviceAccountToken: { audience: "mcp-warden", expirationSeconds: 3600, path: "mcp-warden" } }],
          },
        },
      ],
      terminationGracePeriodSeconds: 1,
    },
  };
}
