// End-to-end, scenarios 6 and 10: a REAL sidecar process, started from the injected container's
// stored args and env as the kubelet would (service-account token for the pod from the TokenRequest
// API, mounted where in-cluster clients read it), in front of the Kestra test upstream listening
// where the injected args say. An agent calls it with its own service-account token.
//    6. `kubectl apply` of a changed McpPolicy changes the sidecar's decisions; the delay from
//       kubectl returning to the new decision is measured over 20 changes.
//   10. With the API server stopped the sidecar keeps enforcing its last policy (decisions, rate
//       limits, new sessions); when it returns, the sidecar catches up with a change.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { MCP_POLICY_PLURAL } from "../../../operator/crd/mcppolicy-crd.ts";
import { ADMIN_PORT_ANNOTATION, SIDECAR_CONTAINER } from "../../../operator/names.ts";
import { API_GROUP, API_VERSION } from "../../../policy/schema.ts";
import { startKestraDouble, type KestraDouble } from "../../upstreams/kestra-double.ts";
import { metricValue } from "../../support/metrics.ts";
import { startControlPlane, type ControlPlane } from "../harness.ts";
import { applyWebhookConfiguration, installMcpWarden, waitForInjection } from "../install.ts";
import { MCP_WARDEN_CLI, startOperatorProcess, type OperatorProcess } from "../operator-process.ts";
import { runPodContainer, type PodContainer } from "../pod-container.ts";
import { freePorts } from "../../support/ports.ts";
import { callTool, connectAgent, percentile, type Seen } from "./agent.ts";
import {
  mcpPolicy,
  serverDeployment,
  serverPod,
  yaml,
  type McpPolicySpecInput,
  type ServerOptions,
} from "./manifests.ts";
import { eventually } from "../../support/eventually.ts";

const CHANGES = 20;
/** The tool whose rule every change flips: odd changes allow it, even ones deny it with their number. */
const TOGGLED = "list_flows_in_namespace";
const TOGGLED_ARGS = { namespace: "company.team" };

describe("e2e: a real sidecar process enforcing the McpPolicy it reads from the API server", () => {
  let cluster: ControlPlane;
  let operator: OperatorProcess;
  let kestra: KestraDouble;
  let sidecar: PodContainer;
  let agent: Client;
  let agentToken: string;
  let listenPort: number;
  let adminPort: number;
  let upstreamPort: number;
  const clients: Client[] = [];

  const spec = (change: number): McpPolicySpecInput => ({
    podSelector: { matchLabels: { app: "kestra-mcp" } },
    upstream: { port: upstreamPort, profile: "kestra" },
    identity: { kubernetes: { audiences: ["mcp-warden"] } },
    default: "deny",
    tools: [
      { name: "list_namespaces" },
      { name: "search_flows", limits: [{ counter: "search", window: "hour", max: 3, scope: "grant" }] },
      change % 2 === 1 ? { name: TOGGLED } : { name: TOGGLED, action: "deny", reason: `change ${change}` },
    ],
  });
  const applyChange = (change: number) =>
    cluster.kubectl(["apply", "-f", "-"], { input: yaml(mcpPolicy("kestra", "agents", spec(change))) });
  /** The same change as one API request (a merge patch of the rules), answered once etcd has it. */
  const patchChange = (change: number) =>
    cluster.client(CustomObjectsApi).patchNamespacedCustomObject(
      {
        group: API_GROUP,
        version: API_VERSION,
        namespace: "agents",
        plural: MCP_POLICY_PLURAL,
        name: "kestra",
        body: { spec: { tools: spec(change).tools } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  const shows = (seen: Seen, change: number) =>
    change % 2 === 1
      ? seen.decision === "allowed"
      : seen.decision === "denied" && new RegExp(`\\bchange ${change}\\b`).test(seen.text);

  /**
   * Makes a change while an agent calls the toggled tool back to back: ms from the change's request
   * returning (kubectl exiting, or the API answering) to the first call decided by it, and from its start.
   */
  const measure = async (
    change: number,
    how: "kubectl" | "api" = "kubectl",
    timeoutMs = 30_000,
  ): Promise<{ fromReturn: number; fromStart: number }> => {
    let seenAt = 0;
    const polling = (async () => {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        if (shows(await callTool(agent, TOGGLED, TOGGLED_ARGS), change)) return (seenAt = performance.now());
      }
      throw new Error(`change ${change} was not enforced within ${timeoutMs / 1000} s`);
    })();
    polling.catch(() => undefined); // awaited below, unless the change itself fails first
    const started = performance.now();
    await (how === "kubectl" ? applyChange(change) : patchChange(change));
    const returned = performance.now();
    await polling;
    return { fromReturn: Math.max(0, seenAt - returned), fromStart: seenAt - started };
  };

  before(async () => {
    cluster = await startControlPlane({ name: "e2e-propagation" });
    const { names, operatorCredentials } = await installMcpWarden(cluster);
    await cluster.createNamespace("agents", {
      labels: { "mcpwarden.io/injection": "enabled", "pod-security.kubernetes.io/enforce": "restricted" },
    });
    await cluster
      .client(CoreV1Api)
      .createNamespacedServiceAccount({ namespace: "agents", body: { metadata: { name: "agent" } } });
    operator = await startOperatorProcess(cluster, {
      identity: "mcp-warden-operator-0",
      namespace: names.namespace,
      kubeconfigPath: operatorCredentials.kubeconfigPath,
    });
    await applyWebhookConfiguration(cluster, names, operator.webhookUrl);

    // The pod's ports are picked free on this machine, since its "pod network" is the host's loopback.
    [listenPort, adminPort, upstreamPort] = (await freePorts(3)) as [number, number, number];
    await applyChange(0);
    const server: ServerOptions = {
      labels: { app: "kestra-mcp" },
      port: listenPort,
      annotations: { [ADMIN_PORT_ANNOTATION]: String(adminPort) },
    };
    await waitForInjection(cluster, "agents", serverPod("probe", server));
    await cluster.kubectl(["apply", "-f", "-"], { input: yaml(serverDeployment("kestra-mcp", "agents", 1, server)) });
    const pod = await eventually(async () => {
      const [found] = (
        await cluster.client(CoreV1Api).listNamespacedPod({ namespace: "agents", labelSelector: "app=kestra-mcp" })
      ).items;
      assert.ok(found?.metadata?.name);
      return found;
    });
    // The operator grants the namespace's service accounts read access to McpPolicies.
    await eventually(() =>
      cluster.kubectl([
        "auth",
        "can-i",
        "watch",
        "mcppolicies.mcpwarden.io",
        "-n",
        "agents",
        "--as",
        "system:serviceaccount:agents:default",
      ]),
    );

    kestra = await startKestraDouble({ host: "127.0.0.1", port: upstreamPort });
    sidecar = await runPodContainer(cluster, {
      namespace: "agents",
      pod: pod.metadata?.name as string,
      container: SIDECAR_CONTAINER,
      entrypoint: [process.execPath, MCP_WARDEN_CLI],
    });
    agentToken = (await cluster.requestServiceAccountToken("agents", "agent", { audiences: ["mcp-warden"] })).token;
    agent = await connectAgent(`http://127.0.0.1:${listenPort}/mcp`, agentToken);
    clients.push(agent);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await sidecar?.stop();
    await kestra?.close();
    await operator?.stop();
    await cluster?.stop();
  });

  it("6. runs from the injected container's args and env, and serves calls under the policy it reads from the API", async () => {
    assert.deepEqual(sidecar.container.args, ["sidecar"]);
    assert.equal(sidecar.env.MCP_WARDEN_POLICY, "k8s://agents/kestra");
    assert.equal(sidecar.env.MCP_WARDEN_UPSTREAM, `http://127.0.0.1:${upstreamPort}/mcp`);
    assert.equal(sidecar.env.MCP_WARDEN_LISTEN, `0.0.0.0:${listenPort}`);

    const before = kestra.calls.length;
    assert.deepEqual(await callTool(agent, "list_namespaces"), { decision: "allowed" });
    assert.equal(kestra.calls.at(-1)?.tool, "list_namespaces");
    assert.equal(kestra.calls.at(-1)?.authorization, undefined, "the agent's token stays with the sidecar");
    const denied = await callTool(agent, TOGGLED, TOGGLED_ARGS);
    assert.equal(denied.decision, "denied");
    assert.ok(shows(denied, 0), JSON.stringify(denied));
    assert.equal(
      (await callTool(agent, "delete_flow_logs", { namespace: "company.team", flow_id: "etl" })).decision,
      "denied",
      "default: deny",
    );
    assert.equal(kestra.calls.length, before + 1, "denied calls never reach the MCP server");

    const anonymous = await fetch(`http://127.0.0.1:${listenPort}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: "{}",
    });
    assert.equal(anonymous.status, 401);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    assert.equal(metricValue(metrics, "mcp_warden_tool_calls_total", { tool: TOGGLED, decision: "denied" }), 1);
  });

  it(`6. a changed McpPolicy changes the sidecar's decisions: delay over ${CHANGES} kubectl applies and ${CHANGES} API patches`, async (t) => {
    const kubectl = { fromReturn: [] as number[], fromStart: [] as number[] };
    const api = { fromReturn: [] as number[], fromStart: [] as number[] };
    for (let change = 1; change <= 2 * CHANGES; change++) {
      const into = change <= CHANGES ? kubectl : api;
      const measured = await measure(change, into === kubectl ? "kubectl" : "api");
      into.fromReturn.push(measured.fromReturn);
      into.fromStart.push(measured.fromStart);
    }
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    const figures = (values: number[]) =>
      `p50 ${ms(percentile(values, 50))}, p99 ${ms(percentile(values, 99))}, max ${ms(Math.max(...values))}`;
    t.diagnostic(
      `propagation over ${CHANGES} kubectl applies, kubectl returned → sidecar enforcing: ${figures(kubectl.fromReturn)} (target p99 ≤ 1 s; ${kubectl.fromReturn.filter((v) => v === 0).length} enforced before kubectl had exited)`,
    );
    t.diagnostic(`  kubectl started → sidecar enforcing: ${figures(kubectl.fromStart)}`);
    t.diagnostic(
      `propagation over ${CHANGES} API patches, API answered → sidecar enforcing: ${figures(api.fromReturn)}; request sent → enforcing: ${figures(api.fromStart)}`,
    );
    const reloads = metricValue(
      await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text(),
      "mcp_warden_policy_reloads_total",
      { result: "success" },
    );
    assert.ok((reloads ?? 0) >= 2 * CHANGES, `every change was loaded (${reloads} reloads)`);
  });

  it("10. keeps enforcing its last policy while the API server is down, and catches up when it is back", async (t) => {
    const last = 2 * CHANGES; // even: the toggled tool is denied
    assert.equal((await callTool(agent, "search_flows", { query: "etl" })).decision, "allowed");
    await cluster.stopApiServer();
    const outage = performance.now();
    const during = async () => {
      assert.equal((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status, 200, "still ready: it has a policy");
      assert.equal((await callTool(agent, "list_namespaces")).decision, "allowed");
      assert.ok(shows(await callTool(agent, TOGGLED, TOGGLED_ARGS), last));
    };
    await during();
    // A new session authenticates with the JWKS the sidecar already has.
    const second = await connectAgent(`http://127.0.0.1:${listenPort}/mcp`, agentToken);
    clients.push(second);
    assert.equal((await callTool(second, "search_flows", { query: "etl" })).decision, "allowed");
    assert.equal((await callTool(agent, "search_flows", { query: "etl" })).decision, "allowed");
    assert.equal(
      (await callTool(second, "search_flows", { query: "etl" })).decision,
      "rate_limited",
      "the limit of 3 per hour counts on through the outage",
    );
    // Long enough for the sidecar's watch to have failed and retried several times.
    await sleep(Math.max(0, 6_000 - (performance.now() - outage)));
    await during();
    assert.match(sidecar.process.logSinceStart(), /cannot read McpPolicy agents\/kestra from the Kubernetes API/);

    await cluster.startApiServer();
    const back = performance.now();
    // The sidecar's watch retries with a backoff that doubles from 1 s up to 30 s (+20 % jitter):
    // after an outage it may take that long to look again.
    const caughtUp = await measure(last + 1, "kubectl", 60_000);
    t.diagnostic(
      `API server outage of ${((back - outage) / 1000).toFixed(1)} s; after its restart, kubectl apply returned → sidecar enforcing in ${caughtUp.fromReturn.toFixed(0)} ms`,
    );
    assert.equal(
      (await callTool(agent, "search_flows", { query: "etl" })).decision,
      "rate_limited",
      "a new policy version keeps the counters",
    );
    const apps = cluster.client(AppsV1Api);
    assert.equal(
      (await apps.readNamespacedDeployment({ namespace: "agents", name: "kestra-mcp" })).status?.replicas,
      1,
    );
  });
});
