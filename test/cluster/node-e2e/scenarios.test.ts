// The scenarios of ADR 212 on running pods: the chart installed with `helm install` into a node-backed
// cluster (kubelet, containerd, kube-proxy; the project's image built from its Dockerfile), the
// operator running as its Deployment, a Kestra Deployment (the Kestra image the injector recognises)
// injected with the native sidecar, agents calling through the Kestra Service with projected
// service-account tokens. One cluster, scenarios in order (each leaves the cluster as the next expects).
// Figures are printed as test diagnostics (ℹ lines).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AdmissionregistrationV1Api, AppsV1Api, CoordinationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { KubeHttp } from "../../../kube/http.ts";
import { McpApprovalClient, parseApproval, type McpApprovalObject } from "../../../kube/mcp-approvals.ts";
import { SIDECAR_CONTAINER } from "../../../operator/names.ts";
import { ALL, dashboardTargets, substitute } from "../../chart/dashboard-queries.ts";
import { runPeer } from "../../support/processes.ts";
import { startPrometheus, type RunningPrometheus } from "../../support/prometheus.ts";
import { startNodeCluster, type NodeCluster } from "../harness.ts";
import { agentImageArchive, kestraImageArchive, projectImageArchive } from "../images/images.ts";
import { agentCalls, agentFetch, resultText, waitForReadyPods } from "../pods.ts";
import {
  AGENT_SA,
  AGENTS,
  CALLERS,
  injection,
  installChart,
  KESTRA_SERVICE,
  kestraDeployment,
  kestraLoggedCalls,
  kestraPods,
  OPERATOR_NS,
  percentile,
  probeCalls,
  RESTRICTED,
  seedPolicy,
  serviceClient,
  sidecarStatus,
  startAgent,
  textOf,
  waitForDeploymentPods,
  yamlDocs,
} from "./fixture.ts";
import { eventually } from "../../support/eventually.ts";

const RESUME = { name: "resume_execution", arguments: { namespace: "company.team", flow_id: "nightly-etl" } };
const RESTART = { name: "restart_execution", arguments: { namespace: "company.team", flow_id: "nightly-etl" } };
const LIST_FLOWS = { name: "list_flows_in_namespace", arguments: { namespace: "company.team" } };
const EXECUTE = { name: "execute_flow", arguments: { namespace: "company.team", flow_id: "nightly-etl" } };
const APPROVER = "ops-alice";
const REPO = join(import.meta.dirname, "..", "..", "..");
const ms = (value: number) => `${value.toFixed(0)} ms`;

describe("mcp-warden on running pods, installed with helm: the scenarios of ADR 212", { timeout: 1_500_000 }, () => {
  let cluster: NodeCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let kestraServiceIp = "";
  let agentIp = "";
  let prometheus: RunningPrometheus | undefined;

  before(async () => {
    cluster = await startNodeCluster({
      name: "scenarios",
      images: [await projectImageArchive(), await kestraImageArchive(), await agentImageArchive()],
    });
    core = cluster.client(CoreV1Api);
    apps = cluster.client(AppsV1Api);
    await cluster.createNamespace(OPERATOR_NS, { labels: RESTRICTED });
    await cluster.createNamespace(AGENTS, { labels: { ...RESTRICTED, "mcpwarden.io/injection": "enabled" } });
    await cluster.createNamespace(CALLERS, { labels: RESTRICTED });
    await core.createNamespacedServiceAccount({ namespace: CALLERS, body: { metadata: { name: AGENT_SA } } });
  });
  after(async () => {
    await prometheus?.stop();
    await cluster?.stop();
  });

  it("1. install: the operator as a Deployment of two pods, the webhook through its Service, a Kestra Deployment injected with the native sidecar", async (t) => {
    const installMs = await installChart(cluster);
    t.diagnostic(`helm install --wait: ${ms(installMs)}`);
    const operators = await waitForReadyPods(core, OPERATOR_NS, "app.kubernetes.io/component=operator", 2);
    assert.equal(operators.length, 2);
    const lease = await eventually(
      async () => {
        const found = await cluster
          .client(CoordinationV1Api)
          .readNamespacedLease({ namespace: OPERATOR_NS, name: "mcp-warden-operator" });
        assert.ok(
          operators.some((p) => p.metadata?.name === found.spec?.holderIdentity),
          `lease held by ${found.spec?.holderIdentity}`,
        );
        return found;
      },
      { timeoutMs: 60_000 },
    );
    t.diagnostic(`leader: ${lease.spec?.holderIdentity}`);
    const webhook = await cluster
      .client(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: "mcp-warden-injector" });
    for (const hook of webhook.webhooks ?? []) {
      assert.equal(hook.clientConfig.service?.name, "mcp-warden-operator");
      assert.equal(hook.clientConfig.url, undefined);
      assert.ok(hook.clientConfig.caBundle, "caBundle patched by the operator");
    }

    await cluster.kubectl(["apply", "-f", "-"], { input: await seedPolicy("resume") });
    await cluster.kubectl(["apply", "-f", "-"], { input: yamlDocs(KESTRA_SERVICE) });
    const started = performance.now();
    // The webhook's CA may still be reaching the API server's informer: the ReplicaSet retries.
    await cluster.kubectl(["apply", "-f", "-"], { input: yamlDocs(kestraDeployment(1)) });
    const [pod] = await waitForDeploymentPods(core, 1);
    t.diagnostic(`Kestra Deployment applied → pod Ready: ${ms(performance.now() - started)}`);
    const status = injection(pod!);
    assert.equal(status.profile, "kestra");
    const sidecar = pod!.spec!.initContainers!.find((c) => c.name === SIDECAR_CONTAINER)!;
    assert.equal(sidecar.restartPolicy, "Always", "a native sidecar");
    assert.ok(sidecar.startupProbe, "with a startup probe");
    assert.equal(sidecar.securityContext?.readOnlyRootFilesystem, true);
    const kestra = pod!.spec!.containers.find((c) => c.name === "kestra")!;
    assert.deepEqual(kestra.command?.slice(0, 3), ["fastmcp", "run", "src/server.py:mcp"]);
    assert.ok(kestra.command?.includes("127.0.0.1"));
    // Ready only after the sidecar's startup probe passed: the kubelet started Kestra after it.
    const sidecarState = sidecarStatus(pod!);
    assert.equal(sidecarState?.started, true);
    const kestraStarted = Date.parse(
      String(pod!.status!.containerStatuses!.find((c) => c.name === "kestra")!.state!.running!.startedAt),
    );
    const sidecarStarted = Date.parse(String(sidecarState.state!.running!.startedAt));
    assert.ok(kestraStarted >= sidecarStarted, `Kestra started ${kestraStarted}, the sidecar ${sidecarStarted}`);
    const ready = pod!.status!.conditions!.find((c) => c.type === "Ready")!;
    assert.ok(Date.parse(String(ready.lastTransitionTime)) >= sidecarStarted);
    // Pod Security "restricted" is enforced where the pods run; they were admitted under it.
    const namespace = await core.readNamespace({ name: AGENTS });
    assert.equal(namespace.metadata?.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
    const service = await core.readNamespacedService({ namespace: AGENTS, name: "kestra-mcp" });
    kestraServiceIp = service.spec!.clusterIP!;
  });

  it("2. an agent pod calls through the Kestra Service with its projected token: the seed policy holds exactly", async (t) => {
    const started = performance.now();
    agentIp = await startAgent(cluster, core);
    t.diagnostic(`agent pod create → Ready: ${ms(performance.now() - started)}`);
    const url = `http://${kestraServiceIp}:8000/mcp`;
    const answer = await agentCalls(agentIp, {
      url,
      calls: [...Array.from({ length: 12 }, () => RESUME), RESTART, LIST_FLOWS, { name: "tools/list" }],
    });
    assert.equal(answer.connectError, undefined);
    const texts = answer.results.map(resultText);
    const resumes = texts.slice(0, 12);
    for (const [index, text] of resumes.slice(0, 10).entries()) {
      assert.doesNotMatch(text, /^\[(POLICY DENIED|RATE LIMITED)\]/, `call ${index + 1} of resume_execution: ${text}`);
    }
    for (const text of resumes.slice(10)) assert.match(text, /^\[RATE LIMITED\]/);
    assert.match(texts[12]!, /^\[POLICY DENIED\]/, "restart_execution");
    assert.match(texts[13]!, /^\[POLICY DENIED\]/, "list_flows_in_namespace");
    // Without a token: refused before MCP (401).
    const anonymous = await agentCalls(agentIp, { url, calls: [RESUME], token: "none" });
    assert.match(anonymous.connectError ?? "", /401|nauthori/);
    const [pod] = await kestraPods(core);
    const logged = await kestraLoggedCalls(cluster, pod!.metadata!.name!);
    assert.deepEqual(
      logged,
      Array.from({ length: 10 }, () => "resume_execution"),
      "exactly the ten allowed calls reached Kestra",
    );
    t.diagnostic(
      `12 resume_execution: 10 forwarded, 2 rate limited; restart_execution and list_flows_in_namespace denied; Kestra logged ${logged.length} calls`,
    );
  });

  it("3. nothing bypasses the sidecar: the MCP server's port is loopback only, by pod IP and by a Service", async () => {
    const [pod] = await kestraPods(core);
    const { upstreamPort } = injection(pod!);
    const podIp = pod!.status!.podIP!;
    const direct = await agentFetch(agentIp, {
      url: `http://${podIp}:${upstreamPort}/mcp`,
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    assert.match(direct.error ?? JSON.stringify(direct), /ECONNREFUSED/);
    await cluster.kubectl(["apply", "-f", "-"], {
      input: yamlDocs({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "kestra-direct", namespace: AGENTS },
        spec: { selector: { app: "kestra-mcp" }, ports: [{ port: 80, targetPort: upstreamPort }] },
      }),
    });
    const directService = await core.readNamespacedService({ namespace: AGENTS, name: "kestra-direct" });
    await eventually(
      async () => {
        const viaService = await agentFetch(agentIp, {
          url: `http://${directService.spec!.clusterIP}/mcp`,
          method: "POST",
          body: "{}",
          headers: { "content-type": "application/json" },
        });
        assert.match(viaService.error ?? JSON.stringify(viaService), /ECONNREFUSED/);
      },
      { timeoutMs: 20_000 },
    );
    // The sidecar's own port, without credentials: 401, never forwarded.
    const unauthenticated = await agentFetch(agentIp, {
      url: `http://${podIp}:8000/mcp`,
      method: "POST",
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "restart_execution", arguments: {} },
      }),
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    });
    assert.equal(unauthenticated.status, 401);
    assert.ok(!(await kestraLoggedCalls(cluster, pod!.metadata!.name!)).includes("restart_execution"));
  });

  it("3. nobody opts out quietly: with spec.injection: Required, a selected pod that would run without the sidecar is refused, naming the policy and the fix; status counts such pods", async (t) => {
    const { stdout: init } = await runPeer(process.execPath, [
      join(REPO, "cli", "mcp-warden.ts"),
      "policy",
      "init",
      "--server",
      "kestra",
    ]);
    assert.match(init, /^ {2}injection: Required$/m, "policy init writes Required");
    const kestraSpec = kestraDeployment().spec!.template.spec!;
    const pod = (namespace: string, name: string, labels: Record<string, string>, extra: object = {}) =>
      yamlDocs({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace, labels: { app: "kestra-mcp", ...labels } },
        spec: { ...kestraSpec, ...extra },
      });
    const refusal = async (manifest: string) => {
      try {
        await cluster.kubectl(["apply", "-f", "-"], { input: manifest });
      } catch (error) {
        return String((error as Error).message);
      }
      return "";
    };
    // A namespace where Pod Security lets hostNetwork through, and one nobody opted in.
    await cluster.createNamespace("agents-host", { labels: { "mcpwarden.io/injection": "enabled" } });
    await cluster.createNamespace("agents-unlabelled");
    // Before: Optional. An opted-out pod is stored as sent (and, with Optional, not counted).
    await cluster.kubectl(["apply", "-f", "-"], {
      input: (await seedPolicy("resume")).replace("namespace: agents", "namespace: agents-host"),
    });
    await cluster.kubectl(["apply", "-f", "-"], {
      input: pod("agents-host", "opted-out-before", { "mcpwarden.io/inject": "false" }),
    });
    for (const namespace of [AGENTS, "agents-host", "agents-unlabelled"]) {
      await cluster.kubectl(["apply", "-f", "-"], {
        input: (await seedPolicy("resume", { injection: "Required" })).replace(
          "namespace: agents",
          `namespace: ${namespace}`,
        ),
      });
    }
    const started = performance.now();
    const optedOut = await eventually(
      async () => {
        const message = await refusal(pod(AGENTS, "opted-out", { "mcpwarden.io/inject": "false" }));
        assert.match(message, /McpPolicy kestra \(spec\.injection: Required\)/);
        return message;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    t.diagnostic(`Required in force at admission ${ms(performance.now() - started)} after kubectl apply`);
    assert.match(optedOut, /mcpwarden\.io\/inject=false; remove the label/);
    assert.match(optedOut, /set spec\.injection: Optional in McpPolicy kestra/);
    assert.match(
      await refusal(pod("agents-host", "on-host", {}, { hostNetwork: true })),
      /McpPolicy kestra .*uses hostNetwork/,
    );
    assert.match(
      await refusal(pod("agents-unlabelled", "not-injected", {})),
      /McpPolicy kestra .*label the namespace mcpwarden\.io\/injection=enabled/,
    );
    // Pods the policy does not select, and injected pods, are untouched.
    await cluster.kubectl(["apply", "-f", "-"], {
      input: yamlDocs({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "unrelated", namespace: "agents-unlabelled", labels: { app: "other" } },
        spec: kestraSpec,
      }),
    });
    // Status counts the pod that opted out before the policy became Required.
    await eventually(
      async () => {
        const { stdout } = await cluster.kubectl(["get", "mcppolicy/kestra", "-n", "agents-host", "-o", "json"]);
        const status = (JSON.parse(stdout) as { status?: { selectedPods?: number; unguardedPods?: string[] } }).status;
        assert.equal(status?.selectedPods, 1);
        assert.deepEqual(status?.unguardedPods, ["opted-out-before"]);
      },
      { timeoutMs: 30_000 },
    );
    await cluster.kubectl(["apply", "-f", "-"], { input: await seedPolicy("resume") });
  });

  it("5. the sidecar container killed: the kubelet restarts it, and no call reaches the server unenforced meanwhile", async (t) => {
    const [pod] = await kestraPods(core);
    const name = pod!.metadata!.name!;
    const before = sidecarStatus(pod!)!;
    const containerId = before.containerID!.replace(/^containerd:\/\//, "");
    const token = (await cluster.requestServiceAccountToken(CALLERS, AGENT_SA, { audiences: ["mcp-warden"] })).token;
    const probe = probeCalls(cluster, kestraServiceIp, token, RESTART);
    const { outcomes } = probe;
    await eventually(() => assert.ok(outcomes.enforced > 0, "enforcing before the kill"), {
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    const deniedBefore = outcomes.enforced;
    const killed = performance.now();
    await cluster.node.ctr(["tasks", "kill", "--signal", "SIGKILL", containerId]);
    const restarted = await eventually(
      async () => {
        const current = await core.readNamespacedPod({ namespace: AGENTS, name });
        const status = sidecarStatus(current)!;
        assert.ok((status.restartCount ?? 0) > (before.restartCount ?? 0), "restarted");
        assert.ok(
          current.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
          "Ready again",
        );
        return current;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    const downMs = performance.now() - killed;
    // Enforcing again through the Service once the endpoint is back.
    await eventually(() => assert.ok(outcomes.enforced > deniedBefore + 2, "enforcing after the restart"), {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    await probe.stop();
    t.diagnostic(
      `sidecar SIGKILLed → restarted by the kubelet and the pod Ready again: ${ms(downMs)}; calls meanwhile: ${JSON.stringify(outcomes)}; restartCount ${sidecarStatus(restarted)!.restartCount}`,
    );
    assert.equal(outcomes.passed, 0, "no call passed unenforced");
    assert.ok(outcomes.enforced > 0);
    assert.ok(
      !(await kestraLoggedCalls(cluster, name)).includes("restart_execution"),
      "no denied call reached Kestra's log",
    );
    // Kestra itself was not restarted.
    assert.equal(restarted.status?.containerStatuses?.find((c) => c.name === "kestra")?.restartCount ?? 0, 0);
  });

  it("4. a changed policy is enforced by the running pods within 1 s (p99 of 20); operator scaled to zero: pods keep enforcing, new pods are refused until it is back", async (t) => {
    const client = await serviceClient(cluster, kestraServiceIp);
    const denied = async () => textOf(await client.callTool(RESUME)).startsWith("[POLICY DENIED]");
    const policies = { resume: await seedPolicy("resume"), restart: await seedPolicy("restart") };
    const delays: number[] = [];
    for (let change = 0; change < 20; change++) {
      const next = change % 2 === 0 ? "restart" : "resume";
      await cluster.kubectl(["apply", "-f", "-"], { input: policies[next] });
      const applied = performance.now();
      await eventually(async () => assert.equal(await denied(), next === "restart"), {
        timeoutMs: 30_000,
        intervalMs: 5,
      });
      delays.push(performance.now() - applied);
    }
    const p99 = percentile(delays, 99);
    t.diagnostic(
      `kubectl apply returned → running pod enforcing, 20 changes: p50 ${ms(percentile(delays, 50))}, p99 ${ms(p99)}, max ${ms(Math.max(...delays))}`,
    );
    assert.ok(p99 <= 1_000, `p99 ${p99} ms`);

    // Operator scaled to zero.
    await cluster.kubectl(["scale", "deployment/mcp-warden-operator", "-n", OPERATOR_NS, "--replicas=0"]);
    await eventually(
      async () => assert.equal((await core.listNamespacedPod({ namespace: OPERATOR_NS })).items.length, 0),
      { timeoutMs: 90_000 },
    );
    assert.equal(await denied(), false, "the running pod still enforces the resume policy");
    assert.match(textOf(await client.callTool(RESTART)), /^\[POLICY DENIED\]/);
    // A change made while the operator is down reaches the running pods all the same (they watch the API).
    await cluster.kubectl(["apply", "-f", "-"], { input: policies.restart });
    await eventually(async () => assert.equal(await denied(), true), { timeoutMs: 10_000, intervalMs: 20 });
    const extra = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "kestra-extra", namespace: AGENTS, labels: { app: "kestra-mcp" } },
      spec: kestraDeployment().spec!.template.spec,
    };
    await assert.rejects(
      cluster.kubectl(["apply", "-f", "-"], { input: yamlDocs(extra) }),
      /failed calling webhook|mcp-warden/,
    );
    await cluster.kubectl(["scale", "deployment/mcp-warden-operator", "-n", OPERATOR_NS, "--replicas=2"]);
    const back = performance.now();
    await waitForReadyPods(core, OPERATOR_NS, "app.kubernetes.io/component=operator", 2, 180_000);
    await eventually(async () => cluster.kubectl(["apply", "-f", "-"], { input: yamlDocs(extra) }), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    t.diagnostic(`operator back: refused pod created ${ms(performance.now() - back)} after the scale-up`);
    const created = await core.readNamespacedPod({ namespace: AGENTS, name: "kestra-extra" });
    assert.ok(
      created.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER),
      "created with its sidecar",
    );
    await core.deleteNamespacedPod({ namespace: AGENTS, name: "kestra-extra", gracePeriodSeconds: 0 });
    await cluster.kubectl(["apply", "-f", "-"], { input: policies.resume });
    await client.close();
  });

  it("6. a rolling update of the Kestra Deployment and a helm upgrade of the chart, with pods running", async (t) => {
    const token = (await cluster.requestServiceAccountToken(CALLERS, AGENT_SA, { audiences: ["mcp-warden"] })).token;
    const probe = probeCalls(cluster, kestraServiceIp, token, RESTART);
    const { outcomes, errors } = probe;
    try {
      const [old] = await kestraPods(core);
      const started = performance.now();
      await cluster.kubectl(["apply", "-f", "-"], {
        input: yamlDocs(kestraDeployment(1, { "example.com/revision": "2" })),
      });
      await cluster.kubectl(["rollout", "status", "deployment/kestra-mcp", "-n", AGENTS, "--timeout=180s"], {
        timeoutMs: 190_000,
      });
      const [pod] = await waitForDeploymentPods(core, 1);
      t.diagnostic(`rolling update: ${ms(performance.now() - started)}`);
      assert.notEqual(pod!.metadata!.name, old!.metadata!.name);
      assert.equal(injection(pod!).profile, "kestra");

      const upgradeStarted = performance.now();
      await cluster.helm(
        [
          "upgrade",
          "mcp-warden",
          (await import("../../chart/chart.ts")).CHART_DIR,
          "--namespace",
          OPERATOR_NS,
          "--reuse-values",
          "--set",
          "operator.logLevel=debug",
          "--wait",
          "--timeout",
          "5m",
        ],
        { timeoutMs: 330_000 },
      );
      t.diagnostic(`helm upgrade --wait: ${ms(performance.now() - upgradeStarted)}`);
      const operators = await waitForReadyPods(core, OPERATOR_NS, "app.kubernetes.io/component=operator", 2, 180_000);
      assert.ok(operators.every((p) => p.spec?.containers[0]?.args?.includes("--log-level=debug")));
      // Injection after the upgrade.
      await apps
        .patchNamespacedDeploymentScale({ namespace: AGENTS, name: "kestra-mcp", body: { spec: { replicas: 2 } } })
        .catch(async () => await cluster.kubectl(["scale", "deployment/kestra-mcp", "-n", AGENTS, "--replicas=2"]));
      const pods = await waitForDeploymentPods(core, 2);
      for (const p of pods) assert.equal(injection(p).profile, "kestra");
    } finally {
      await probe.stop();
    }
    t.diagnostic(
      `calls during the rollout and the upgrade: ${JSON.stringify(outcomes)}; failures: ${JSON.stringify([...errors])}`,
    );
    assert.equal(outcomes.passed, 0);
    assert.ok(outcomes.enforced > 0);
    await cluster.kubectl(["scale", "deployment/kestra-mcp", "-n", AGENTS, "--replicas=1"]);
    // The next scenarios read one pod's Kestra log: the pod scaled away must be gone, not just marked.
    await waitForDeploymentPods(core, 1);
  });

  it("8. human approval end to end: a held call in a pod, approved with kubectl mcp-warden by a user with the approver role, forwarded once", async (t) => {
    // The one pod the Service can route to: its Kestra log is where the forwarded call shows.
    const [pod] = await waitForDeploymentPods(core, 1);
    const { adminPort } = injection(pod!);
    // The policy in force, as the running sidecar publishes it (its digest changes with the policy).
    const policyInfo = async () =>
      (await (await fetch(`http://${pod!.status!.podIP}:${adminPort}/metrics`)).text())
        .split("\n")
        .find((line) => line.startsWith("mcp_warden_policy_info"));
    const infoBefore = await policyInfo();
    await cluster.kubectl(["apply", "-f", "-"], {
      input: await seedPolicy("resume", {
        tools: [
          {
            name: "resume_execution",
            limits: [{ counter: "resume_execution_rate", window: "minute", max: 10, scope: "grant" }],
          },
          { name: "execute_flow", action: "approve", approval: { timeout: "90s", ttl: "30m" } },
        ],
      }),
    });
    await eventually(async () => assert.notEqual(await policyInfo(), infoBefore), { timeoutMs: 30_000 });
    await cluster.kubectl([
      "create",
      "rolebinding",
      "mcp-warden-approver",
      "--clusterrole=mcp-warden-approver",
      `--user=${APPROVER}`,
      "-n",
      AGENTS,
    ]);
    const approver = await cluster.userCredentials(APPROVER);
    const bin = join(cluster.dir, "approver-bin");
    mkdirSync(bin);
    symlinkSync(cluster.binaries.kubectl, join(bin, "kubectl"));
    symlinkSync(join(REPO, "cli", "bin", "kubectl-mcp_warden"), join(bin, "kubectl-mcp_warden"));
    const env = {
      PATH: `${bin}:${join(REPO, "node_modules", ".bin")}:/usr/bin:/bin`,
      HOME: cluster.dir,
      KUBECONFIG: approver.kubeconfigPath,
    };
    const kubectl = (...args: string[]) => runPeer(join(bin, "kubectl"), args, { env, timeoutMs: 60_000 });

    const before = (await kestraLoggedCalls(cluster, pod!.metadata!.name!)).filter(
      (tool) => tool === "execute_flow",
    ).length;
    const admin = new McpApprovalClient(new KubeHttp(cluster.kubeConfig));
    const existing = new Set(
      (await admin.list(AGENTS)).flatMap((raw) => {
        const parsed = parseApproval(raw);
        return parsed.ok ? [parsed.approval.metadata.name] : [];
      }),
    );

    const started = performance.now();
    const held = agentCalls(agentIp, { url: `http://${kestraServiceIp}:8000/mcp`, calls: [EXECUTE] }, 120_000);
    let requested: McpApprovalObject | undefined;
    await eventually(
      async () => {
        requested = (await admin.list(AGENTS)).flatMap((raw) => {
          const parsed = parseApproval(raw);
          return parsed.ok &&
            !existing.has(parsed.approval.metadata.name) &&
            parsed.approval.spec.args.includes("nightly-etl")
            ? [parsed.approval]
            : [];
        })[0];
        assert.ok(requested, "the sidecar in the pod requested an approval");
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(requested!.spec.tool, "execute_flow");
    const name = requested!.metadata.name;
    const listed = await kubectl("mcp-warden", "approvals", "list", "-n", AGENTS);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${name}\\s+execute_flow\\s`, "m"));
    const approved = await kubectl("mcp-warden", "approvals", "approve", name, "-n", AGENTS, "--reason", "nightly run");
    assert.equal(approved.code, 0, approved.stderr);
    const answer = await held;
    t.diagnostic(`held call → approved → answered: ${ms(performance.now() - started)}`);
    assert.equal(answer.connectError, undefined);
    const text = resultText(answer.results[0]!);
    assert.doesNotMatch(text, /^\[(APPROVAL REQUIRED|POLICY DENIED)\]/, text);
    const after = (await kestraLoggedCalls(cluster, pod!.metadata!.name!)).filter(
      (tool) => tool === "execute_flow",
    ).length;
    assert.equal(after - before, 1, "forwarded once");
  });

  it("7. Prometheus scrapes the running sidecars and the operator by pod IP; the dashboard's queries return the decisions made", async (t) => {
    const operators = await waitForReadyPods(core, OPERATOR_NS, "app.kubernetes.io/component=operator", 2);
    const [pod] = await waitForDeploymentPods(core, 1);
    const { adminPort } = injection(pod!);
    const target = (p: typeof pod, port: number) => ({
      targets: [`${p!.status!.podIP}:${port}`],
      labels: { namespace: p!.metadata!.namespace!, pod: p!.metadata!.name! },
    });
    prometheus = await startPrometheus({
      config: {
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        scrape_configs: [
          { job_name: "mcp-warden-sidecars", static_configs: [target(pod, adminPort)] },
          { job_name: "mcp-warden-operator", static_configs: operators.map((o) => target(o, 9090)) },
        ],
      },
    });
    await eventually(
      async () => {
        const targets = await prometheus!.targets();
        assert.equal(
          targets.filter((x) => x.health === "up").length,
          3,
          JSON.stringify(targets.map((x) => [x.scrapeUrl, x.health, x.lastError])),
        );
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // Traffic through the Service as a service account of its own (a fresh rate-limit budget).
    await core.createNamespacedServiceAccount({ namespace: CALLERS, body: { metadata: { name: "observer" } } });
    const observer = await serviceClient(
      cluster,
      kestraServiceIp,
      (await cluster.requestServiceAccountToken(CALLERS, "observer", { audiences: ["mcp-warden"] })).token,
    );
    await observer.listTools(); // the sidecar learns the upstream's tool names (others are counted as _unknown)
    const sidecarCount = async () =>
      (await (await fetch(`http://${pod!.status!.podIP}:${adminPort}/metrics`)).text())
        .split("\n")
        .filter((line) => line.startsWith("mcp_warden_tool_calls_total{"))
        .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
    const countBefore = await sidecarCount();
    // Calls keep coming while the queries are checked: every scrape then sees increases (a counter's
    // first sample is not one for rate()). The first ten resume_execution pass, the rest are rate limited.
    let trafficStop = false;
    const traffic = (async () => {
      while (!trafficStop) {
        for (const call of [RESUME, RESTART, LIST_FLOWS]) await observer.callTool(call);
        await sleep(300);
      }
    })();
    // Admissions the operator replicas running now have made (the upgrade replaced the earlier ones).
    for (let i = 0; i < 4; i++) {
      const admitted = await core.createNamespacedPod({
        namespace: AGENTS,
        dryRun: "All",
        body: {
          metadata: { generateName: "metrics-", labels: { app: "kestra-mcp" } },
          spec: kestraDeployment().spec!.template.spec!,
        },
      });
      assert.ok(admitted.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER));
    }
    const dashboard = JSON.parse(
      readFileSync(join(REPO, "charts", "mcp-warden", "dashboards", "mcp-warden.json"), "utf8"),
    ) as Parameters<typeof dashboardTargets>[0];
    const byDecision = dashboardTargets(dashboard).find(
      (target) => target.panel === "Tool calls per second by decision",
    )!;
    const deniedByTool = dashboardTargets(dashboard).find((target) => target.panel === "Denied calls by tool")!;
    await eventually(
      async () => {
        const targets = await prometheus!.targets();
        assert.equal(
          targets.filter((x) => x.health === "up").length,
          3,
          JSON.stringify(targets.map((x) => [x.scrapeUrl, x.health, x.lastError])),
        );
        const decisions = await prometheus!.query(substitute(byDecision.expr, ALL, "1m"));
        for (const decision of ["allowed", "denied", "rate_limited"]) {
          assert.ok(
            Number(decisions.find((sample) => sample.metric.decision === decision)?.value[1]) > 0,
            `${decision}: ${JSON.stringify(decisions)}`,
          );
        }
        const denied = await prometheus!.query(substitute(deniedByTool.expr, ALL, "1m"));
        for (const tool of ["restart_execution", "list_flows_in_namespace"])
          assert.ok(
            Number(denied.find((sample) => sample.metric.tool === tool)?.value[1]) > 0,
            `${tool}: ${JSON.stringify(denied)}`,
          );
        const injections = await prometheus!.query("sum(mcp_warden_injections_total)");
        assert.ok(Number(injections[0]?.value[1]) > 0, "the operator's injections");
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    ).finally(async () => {
      trafficStop = true;
      await traffic;
      await observer.close();
    });
    assert.ok((await sidecarCount()) > countBefore, "the traffic reached the scraped sidecar");
    const totals = await prometheus.query('sum by (decision) (mcp_warden_tool_calls_total{namespace="agents"})');
    t.diagnostic(
      `scraped by pod IP: ${totals.map((sample) => `${sample.metric.decision} ${sample.value[1]}`).join(", ")}`,
    );
  });
});
