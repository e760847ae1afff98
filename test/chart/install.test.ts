// End to end on a real API server: every ci/ scenario's objects pass a server-side dry run, then
// `helm install` of the chart (into a namespace enforcing Pod
// Security "restricted"), the operator started from the installed Deployment's command line as the
// chart's ServiceAccount (its webhook configuration pointed at it by URL), a pod injected through the
// installed webhook configuration, the sidecar started from the injected container's command line
// and environment as the pod's service account, an agent's traffic through it, and a real Prometheus
// scraping both the way the chart's PodMonitor and ServiceMonitor say, with the chart's alerts
// loaded (pod discovery from the API server through pod-discovery.ts: Debian's Prometheus is built
// without kubernetes_sd). Every dashboard query then runs through Prometheus's HTTP API and must return the label
// sets PANEL_EXPECTATIONS names. `helm upgrade` keeps the webhook working; `helm uninstall` keeps
// the CRDs and the policies. Approvals run through the same pieces: the sidecar requests them with
// the chart's sidecar ClusterRole, a person bound to its mcp-warden-approver ClusterRole decides with
// `kubectl mcp-warden approvals` (the real kubectl finding the plugin on PATH), the chart's
// ValidatingAdmissionPolicy checks the decision, and the operator counts them for the dashboard.
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1Container,
  type V1Pod,
} from "@kubernetes/client-node";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { stringify } from "yaml";
import { KubeHttp } from "../../kube/http.ts";
import { McpApprovalClient, parseApproval, type McpApprovalObject } from "../../kube/mcp-approvals.ts";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { KubectlError, startControlPlane, type ControlPlane, type Credentials } from "../cluster/harness.ts";
import { runPeer, startPeer, type Peer } from "../support/processes.ts";
import { startPrometheus, type RunningPrometheus, type Sample } from "../support/prometheus.ts";
import { startKestraDouble, type KestraDouble } from "../upstreams/kestra-double.ts";
import { AgentTraffic } from "./agent-traffic.ts";
import { ApprovalTraffic } from "./approval-traffic.ts";
import { CHART_DIR, get, renderChart, SCENARIOS, scenarioFile, type KubeDocument } from "./chart.ts";
import { ALL, dashboardTargets, regexValue, substitute, variableQuery, type Selection } from "./dashboard-queries.ts";
import {
  AGENTS,
  API_KEY,
  APPROVE_TOOL,
  APPROVER,
  KEYS_SECRET,
  kestraPod,
  PANEL_EXPECTATIONS,
  POLICY,
  policyManifest,
  type Expectation,
} from "./scenario.ts";
import { startPodDiscovery, type PodDiscovery } from "./pod-discovery.ts";
import {
  podMonitorScrapeConfig,
  serviceMonitorStaticConfig,
  type PodMonitor,
  type ServiceMonitor,
} from "./scrape-config.ts";
import { freePort } from "../support/ports.ts";
import { eventually } from "../support/eventually.ts";

const REPO = join(import.meta.dirname, "..", "..");
const CLI = join(REPO, "cli", "mcp-warden.ts");
const NS = "mcp-warden";
const OPERATOR_POD = "mcp-warden-operator-local";

/** The problems of one query's result against its expectation; empty when it holds. */
function check(samples: Sample[], want: Expectation): string[] {
  if (samples.length === 0) return ["returned nothing"];
  const problems: string[] = [];
  for (const s of samples) {
    const labels = Object.keys(s.metric).sort();
    if (labels.join() !== [...want.labels].sort().join())
      problems.push(`labels {${labels.join(", ")}}, expected {${want.labels.join(", ")}}`);
    if (want.atLeast !== undefined && !(Number(s.value[1]) >= want.atLeast))
      problems.push(`value ${s.value[1]} below ${want.atLeast}`);
  }
  for (const value of want.positive?.values ?? []) {
    const series = samples.find((s) => s.metric[want.positive!.label] === value);
    if (!series || !(Number(series.value[1]) > 0))
      problems.push(
        `${want.positive!.label}="${value}" ${series ? `is ${series.value[1]}` : "is missing"}, expected > 0`,
      );
  }
  if (want.equals) {
    const { label, value, is } = want.equals;
    const series = label ? samples.find((s) => s.metric[label] === value) : samples[0];
    if (Number(series?.value[1]) !== is)
      problems.push(
        `${label ? `${label}="${value}"` : "the value"} is ${series?.value[1] ?? "missing"}, expected ${is}`,
      );
  }
  return problems;
}

describe("the chart installed into a real API server, watched by a real Prometheus", { timeout: 600_000 }, () => {
  let cluster: ControlPlane;
  let core: CoreV1Api;
  const ports = { webhook: 0, admin: 0, sidecar: 0, sidecarAdmin: 0 };
  const peers: Peer[] = [];
  let kestra: KestraDouble | undefined;
  let prometheus: RunningPrometheus | undefined;
  let discovery: PodDiscovery | undefined;
  let traffic: AgentTraffic | undefined;
  let approvalTraffic: ApprovalTraffic | undefined;
  let approver: Credentials | undefined;
  let approvalAgent: Client | undefined;
  let leftPending: Promise<unknown> | undefined;
  let admissions: Promise<void> | undefined;
  let stopping = false;
  let installNotes = "";
  const values = () => ({
    "webhook.url": `https://127.0.0.1:${ports.webhook}/mutate-pods`,
    "webhook.port": ports.webhook,
    "operator.adminPort": ports.admin,
    "operator.shutdownDelaySeconds": 0,
    "monitoring.podMonitor.interval": "1s",
    "monitoring.serviceMonitor.interval": "1s",
  });
  const apply = (manifest: string) => cluster.kubectl(["apply", "-f", "-"], { input: manifest });
  const sidecarContainer = async (name: string): Promise<V1Container> => {
    const pod = await core.readNamespacedPod({ namespace: AGENTS, name });
    const container = pod.spec?.initContainers?.find((c) => c.name === "mcp-warden");
    assert.ok(container, `pod ${name} has no mcp-warden sidecar`);
    return container;
  };

  before(async () => {
    cluster = await startControlPlane({ name: "chart" });
    core = cluster.client(CoreV1Api);
    for (const key of Object.keys(ports) as Array<keyof typeof ports>) ports[key] = await freePort();
  });
  after(async () => {
    stopping = true;
    await traffic?.stop().catch(() => undefined);
    await approvalTraffic?.stop().catch(() => undefined);
    await approvalAgent?.close().catch(() => undefined);
    await leftPending;
    await admissions;
    await prometheus?.stop();
    await discovery?.close();
    await Promise.all(peers.map((p) => p.stop()));
    await kestra?.close();
    await cluster?.stop();
  });

  it("renders every ci/ scenario into objects the API server accepts (server-side dry run of the built-in kinds)", async () => {
    // Before anything is installed, so every object is a create.
    await cluster.createNamespace("dry-run", { waitForDefaultServiceAccount: false });
    await cluster.createNamespace("monitoring", { waitForDefaultServiceAccount: false });
    for (const scenario of SCENARIOS) {
      const docs = await renderChart({ namespace: "dry-run", valuesFiles: [scenarioFile(scenario)] });
      // PodMonitor, Certificate…: their CRDs (Prometheus Operator, cert-manager) are not in this cluster.
      const builtIn = docs.filter((d) => !/monitoring\.coreos\.com|cert-manager\.io/.test(d.apiVersion));
      const { stdout } = await cluster.kubectl(["apply", "--dry-run=server", "-f", "-"], {
        input: builtIn.map((d) => stringify(d)).join("---\n"),
      });
      assert.equal(stdout.trim().split("\n").length, builtIn.length, `${scenario}: ${stdout}`);
    }
  });

  it("installs with helm into a namespace enforcing Pod Security restricted, and says what to do next", async () => {
    await cluster.createNamespace(NS, { labels: { "pod-security.kubernetes.io/enforce": "restricted" } });
    const install = await cluster.helm([
      "install",
      "mcp-warden",
      CHART_DIR,
      "--namespace",
      NS,
      ...Object.entries(values()).flatMap(([k, v]) => ["--set-json", `${k}=${JSON.stringify(v)}`]),
    ]);
    installNotes = install.stdout;
    assert.match(installNotes, /STATUS: deployed/);
    assert.match(installNotes, /kubectl label namespace <namespace> mcpwarden\.io\/injection=enabled/);
    await cluster.waitForCrds(["mcppolicies.mcpwarden.io"]);
    // The Deployment's controllers made its pods, so they pass admission, restricted included.
    await eventually(async () => {
      const pods = await core.listNamespacedPod({
        namespace: NS,
        labelSelector: "app.kubernetes.io/component=operator",
      });
      assert.equal(pods.items.length, 2);
    });
    const config = await cluster
      .client(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: "mcp-warden-injector" });
    assert.equal(config.webhooks?.[0]?.clientConfig.caBundle, undefined, "no caBundle until the operator sets it");
  });

  it("runs the operator from the installed Deployment's command line, as the chart's ServiceAccount; it sets the caBundle", async () => {
    const deployment = await cluster
      .client(AppsV1Api)
      .readNamespacedDeployment({ namespace: NS, name: "mcp-warden-operator" });
    const args = deployment.spec?.template.spec?.containers[0]?.args ?? [];
    assert.ok(
      args.includes(`--webhook-listen=0.0.0.0:${ports.webhook}`) && args.includes(`--webhook-host=127.0.0.1`),
      args.join(" "),
    );
    const identity = await cluster.serviceAccountCredentials(NS, "mcp-warden-operator");
    // Loopback instead of 0.0.0.0 on this shared machine (a later flag wins); everything else as installed.
    const operator = startPeer(
      process.execPath,
      [
        CLI,
        ...args,
        `--webhook-listen=127.0.0.1:${ports.webhook}`,
        `--admin-listen=127.0.0.1:${ports.admin}`,
        `--kubeconfig=${identity.kubeconfigPath}`,
      ],
      {
        env: { POD_NAMESPACE: NS, POD_NAME: OPERATOR_POD },
      },
    );
    peers.push(operator);
    await eventually(async () => assert.equal((await fetch(`http://127.0.0.1:${ports.admin}/readyz`)).status, 200), {
      timeoutMs: 60_000,
    });
    const secret = await core.readNamespacedSecret({ namespace: NS, name: "mcp-warden-webhook-tls" });
    const ca = Buffer.from(secret.data?.["ca.crt"] ?? "", "base64").toString();
    await eventually(async () => {
      const config = await cluster
        .client(AdmissionregistrationV1Api)
        .readMutatingWebhookConfiguration({ name: "mcp-warden-injector" });
      assert.equal(Buffer.from(config.webhooks?.[0]?.clientConfig.caBundle ?? "", "base64").toString(), ca);
    });
  });

  it("injects a selected pod through the installed webhook configuration, with the chart's image", async () => {
    await cluster.createNamespace(AGENTS, { labels: { "mcpwarden.io/injection": "enabled" } });
    await core.createNamespacedSecret({
      namespace: AGENTS,
      body: { metadata: { name: KEYS_SECRET }, stringData: { grants: `${grantLine("agent", API_KEY)}\n` } },
    });
    // Created before the policy: selected, never enforced (until restarted).
    await core.createNamespacedPod({ namespace: AGENTS, body: kestraPod("early") });
    await apply(policyManifest());
    await eventually(async () => {
      const dryRun = await core.createNamespacedPod({ namespace: AGENTS, body: kestraPod("probe"), dryRun: "All" });
      assert.ok(
        dryRun.spec?.initContainers?.some((c) => c.name === "mcp-warden"),
        "the operator's cache has the policy",
      );
    });
    const pod = await core.createNamespacedPod({
      namespace: AGENTS,
      body: kestraPod("kestra-0", { adminPort: ports.sidecarAdmin }),
    });
    const sidecar = pod.spec?.initContainers?.find((c) => c.name === "mcp-warden");
    assert.equal(sidecar?.image, "ghcr.io/mcp-warden/mcp-warden:0.1.0", "the image the chart runs the operator from");
    assert.deepEqual(sidecar?.args, ["sidecar"]);
    assert.equal(pod.metadata?.labels?.["mcpwarden.io/policy"], POLICY);
    await assert.rejects(
      cluster.kubectl(["apply", "-n", AGENTS, "-f", "-"], {
        input: stringify(kestraPod("typo", { annotations: { "mcpwarden.io/admin-prot": "9091" } })),
      }),
      (error: unknown) =>
        error instanceof KubectlError && /unknown annotation mcpwarden\.io\/admin-prot/.test(error.stderr),
    );
    const objects = cluster.client(CustomObjectsApi);
    await eventually(
      async () => {
        const status = (
          (await objects.getNamespacedCustomObject({
            group: "mcpwarden.io",
            version: "v1alpha1",
            namespace: AGENTS,
            plural: "mcppolicies",
            name: POLICY,
          })) as { status?: { selectedPods?: number; enforcedPods?: number } }
        ).status;
        assert.deepEqual([status?.selectedPods, status?.enforcedPods], [2, 1]);
      },
      { timeoutMs: 30_000 },
    );
  });

  it("runs the sidecar from the injected container's command line and environment, as the pod's service account", async () => {
    const container = await sidecarContainer("kestra-0");
    kestra = await startKestraDouble();
    const identity = await cluster.serviceAccountCredentials(AGENTS, "default");
    const keys = join(cluster.dir, "grants");
    writeFileSync(keys, `${grantLine("agent", API_KEY)}\n`);
    // What the kubelet would give the container, with the pod-network addresses moved to this machine's loopback.
    const env: Record<string, string> = { KUBECONFIG: identity.kubeconfigPath };
    for (const { name, value } of container.env ?? []) {
      assert.ok(value !== undefined, `${name} comes from a Secret; this scenario has none`);
      env[name] = value;
    }
    assert.equal(env.MCP_WARDEN_POLICY, `k8s://${AGENTS}/${POLICY}`);
    assert.equal(env.MCP_WARDEN_UPSTREAM, "http://127.0.0.1:18000/mcp");
    assert.equal(env.MCP_WARDEN_ADMIN_LISTEN, `0.0.0.0:${ports.sidecarAdmin}`);
    Object.assign(env, {
      MCP_WARDEN_UPSTREAM: kestra.url,
      MCP_WARDEN_LISTEN: `127.0.0.1:${ports.sidecar}`,
      MCP_WARDEN_ADMIN_LISTEN: `127.0.0.1:${ports.sidecarAdmin}`,
      MCP_WARDEN_API_KEYS: keys,
    });
    const sidecar = startPeer(process.execPath, [CLI, ...(container.args ?? [])], { env });
    peers.push(sidecar);
    await eventually(
      async () => assert.equal((await fetch(`http://127.0.0.1:${ports.sidecarAdmin}/readyz`)).status, 200),
      { timeoutMs: 60_000 },
    );

    traffic = new AgentTraffic({ url: `http://127.0.0.1:${ports.sidecar}/mcp`, apiKey: API_KEY });
    const tools = await traffic.connect();
    assert.ok(
      tools.includes("list_namespaces") && !tools.includes("force_run_execution"),
      "the hidden tool is not listed",
    );
    await traffic.round();
    await traffic.round();
    assert.deepEqual(
      traffic.tally,
      { allowed: 6, denied: 4, rateLimited: 0, hidden: 2 },
      "2 rounds: 2 list_namespaces + 1 resume allowed each, 2 denials, 1 hidden",
    );
    await traffic.round();
    assert.equal(traffic.tally.rateLimited, 1, "the third resume_execution within a minute");
    assert.deepEqual(
      kestra.calls.map((c) => c.tool).filter((t) => t !== "list_namespaces"),
      ["resume_execution", "resume_execution"],
      "denied calls never reach the server",
    );
  });

  it("holds a call of an approve rule until someone bound to the chart's mcp-warden-approver approves it with kubectl mcp-warden, then forwards it once", async () => {
    await cluster.kubectl([
      "create",
      "rolebinding",
      "mcp-warden-approver",
      "--clusterrole=mcp-warden-approver",
      `--user=${APPROVER}`,
      "-n",
      AGENTS,
    ]);
    approver = await cluster.userCredentials(APPROVER);
    // The approver's tools: the cluster's kubectl and the plugin as installed (a link to cli/bin).
    const bin = join(cluster.dir, "approver-bin");
    mkdirSync(bin);
    symlinkSync(cluster.binaries.kubectl, join(bin, "kubectl"));
    symlinkSync(join(REPO, "cli", "bin", "kubectl-mcp_warden"), join(bin, "kubectl-mcp_warden"));
    const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: cluster.dir, KUBECONFIG: approver.kubeconfigPath };
    const kubectl = (...args: string[]) => runPeer(join(bin, "kubectl"), args, { env, timeoutMs: 60_000 });

    approvalAgent = new Client({ name: "mcp-warden-chart-test-approvals", version: "1.0.0" });
    await approvalAgent.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${ports.sidecar}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${API_KEY}` } },
      }),
    );
    const args = { namespace: "company.team", flow_id: "nightly" };
    const held = approvalAgent.callTool({ name: APPROVE_TOOL, arguments: args });
    const admin = new McpApprovalClient(new KubeHttp(cluster.kubeConfig));
    let requested: McpApprovalObject | undefined;
    await eventually(
      async () => {
        requested = (await admin.list(AGENTS)).flatMap((raw) => {
          const parsed = parseApproval(raw);
          return parsed.ok ? [parsed.approval] : [];
        })[0];
        assert.ok(requested, "the sidecar requested an approval, as the pod's service account");
      },
      { timeoutMs: 30_000 },
    );
    const name = requested!.metadata.name;
    assert.deepEqual(
      [requested!.spec.policy, requested!.spec.tool, requested!.spec.caller, requested!.spec.args],
      [POLICY, APPROVE_TOOL, "apikey:agent", '{"flow_id":"nightly","namespace":"company.team"}'],
      "the preview is canonical JSON",
    );

    const listed = await kubectl("mcp-warden", "approvals", "list", "-n", AGENTS);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${name}\\s+${APPROVE_TOOL}\\s+apikey:agent\\s+Pending\\s`, "m"));
    const approved = await kubectl("mcp-warden", "approvals", "approve", name, "-n", AGENTS, "--reason", "nightly run");
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(
      approved.stdout,
      new RegExp(
        `^mcpapproval\\.mcpwarden\\.io/${name} approved by ${APPROVER}: apikey:agent may call ${APPROVE_TOOL}`,
      ),
    );

    const text = JSON.stringify((await held).content ?? []);
    assert.doesNotMatch(text, /\[(POLICY DENIED|APPROVAL REQUIRED)\]/, "forwarded once approved");
    assert.deepEqual(
      kestra?.calls.filter((c) => c.tool === APPROVE_TOOL).map((c) => c.arguments),
      [args],
      "the approved call reached the server once",
    );
    const used = parseApproval(await admin.get(AGENTS, name));
    assert.ok(
      used.ok && used.approval.status?.decidedBy === APPROVER && used.approval.spec.use?.by,
      "decided by the approver, its use recorded",
    );
    // Left undecided, for the pending gauge (the agent is told after 30 s; the request stays for 30 min).
    leftPending = approvalAgent
      .callTool({ name: APPROVE_TOOL, arguments: { namespace: "company.team", flow_id: "left-pending" } })
      .catch(() => undefined);
  });

  it("is scraped by Prometheus through the PodMonitor's selection (sidecars) and the ServiceMonitor's (operator)", async () => {
    // The kubelet would report the pod's IP; here the sidecar listens on this machine's loopback.
    await cluster.kubectl([
      "patch",
      "pod",
      "kestra-0",
      "-n",
      AGENTS,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { phase: "Running", podIP: "127.0.0.1", podIPs: [{ ip: "127.0.0.1" }] } }),
    ]);
    const docs = await renderChart({ namespace: NS, valuesFiles: [scenarioFile("monitoring")], set: values() });
    const rules = get<{ spec: unknown }>(docs, "PrometheusRule", "mcp-warden").spec;
    discovery = await startPodDiscovery(core);
    prometheus = await startPrometheus({
      files: { "rules.yaml": stringify(rules) },
      config: {
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: ["rules.yaml"],
        scrape_configs: [
          podMonitorScrapeConfig(
            get<KubeDocument & PodMonitor>(docs, "PodMonitor", "mcp-warden-sidecars"),
            discovery.url,
          ),
          serviceMonitorStaticConfig(
            get<KubeDocument & ServiceMonitor>(docs, "ServiceMonitor", "mcp-warden-operator"),
            { address: `127.0.0.1:${ports.admin}`, namespace: NS, service: "mcp-warden-operator", pod: OPERATOR_POD },
          ),
        ],
      },
    });
    traffic?.start();
    approvalTraffic = new ApprovalTraffic({
      url: `http://127.0.0.1:${ports.sidecar}/mcp`,
      apiKey: API_KEY,
      tool: APPROVE_TOOL,
      namespace: AGENTS,
      approver: approver!.kubeConfig,
    });
    await approvalTraffic.connect();
    await approvalTraffic.round();
    await approvalTraffic.round();
    assert.deepEqual(approvalTraffic.tally, { forwarded: 1, denied: 1 }, "one approved and forwarded, one denied");
    approvalTraffic.start();
    // Admissions keep coming too: injected, skipped (not selected) and rejected (a typo), all dry runs.
    admissions = (async () => {
      const unselected: V1Pod = { ...kestraPod("other"), metadata: { name: "other", labels: { app: "other" } } };
      while (!stopping) {
        for (const body of [
          kestraPod("dry"),
          unselected,
          kestraPod("dry-typo", { annotations: { "mcpwarden.io/admin-prot": "1" } }),
        ]) {
          await core.createNamespacedPod({ namespace: AGENTS, body, dryRun: "All" }).catch(() => undefined);
        }
        await sleep(500);
      }
    })();
    await eventually(
      async () => {
        const targets = await prometheus!.targets();
        const sidecars = targets.filter((t) => t.labels.job === `${NS}/mcp-warden-sidecars`);
        assert.deepEqual(
          sidecars.map((t) => [t.labels.namespace, t.labels.pod, t.labels.container, t.health]),
          [[AGENTS, "kestra-0", "mcp-warden", "up"]],
          JSON.stringify(targets),
        );
        assert.equal(sidecars[0]?.scrapeUrl, `http://127.0.0.1:${ports.sidecarAdmin}/metrics`);
        const operator = targets.filter((t) => t.labels.job === "mcp-warden-operator");
        assert.deepEqual(
          operator.map((t) => t.health),
          ["up"],
        );
      },
      { timeoutMs: 60_000 },
    );
  });

  it("answers every dashboard query with data and the expected label sets, for All and for one namespace and policy", async () => {
    const dashboard = JSON.parse(
      get<{ data: Record<string, string> }>(
        await renderChart({ set: { "monitoring.dashboard.enabled": true } }),
        "ConfigMap",
        "mcp-warden-dashboard",
      ).data["mcp-warden.json"] ?? "",
    ) as Parameters<typeof dashboardTargets>[0];
    const targets = dashboardTargets(dashboard);
    assert.deepEqual(
      [...new Set(targets.map((t) => t.panel))].sort(),
      Object.keys(PANEL_EXPECTATIONS).sort(),
      "every panel has expectations, and every expectation a panel",
    );
    const selections: Selection[] = [
      ALL,
      { namespace: regexValue(AGENTS), policy: regexValue(`${AGENTS}/${POLICY}`), tool: ".*" },
    ];
    await eventually(
      async () => {
        const problems: string[] = [];
        for (const selection of selections) {
          for (const target of targets) {
            const want = PANEL_EXPECTATIONS[target.panel]?.[target.refId.charCodeAt(0) - 65];
            if (!want) throw new Error(`no expectation for ${target.panel} ${target.refId}`);
            const expr = substitute(target.expr, selection, "20s");
            for (const problem of check(await prometheus!.query(expr), want))
              problems.push(
                `${target.panel} [${target.refId}] (namespace=${selection.namespace}): ${problem}\n    ${expr}`,
              );
          }
        }
        assert.deepEqual(problems, []);
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
  });

  it("lists the namespace, policy and tools in the dashboard's variables", async () => {
    const namespace = variableQuery("namespace", ALL);
    assert.deepEqual(await prometheus!.labelValues(namespace.label, namespace.selector), [AGENTS]);
    const policy = variableQuery("policy", { ...ALL, namespace: AGENTS });
    assert.deepEqual(await prometheus!.labelValues(policy.label, policy.selector), [`${AGENTS}/${POLICY}`]);
    const tool = variableQuery("tool", { ...ALL, namespace: AGENTS, policy: regexValue(`${AGENTS}/${POLICY}`) });
    const tools = await prometheus!.labelValues(tool.label, tool.selector);
    for (const name of [
      "list_namespaces",
      "delete_flow_logs",
      "restart_execution",
      "resume_execution",
      "force_run_execution",
    ])
      assert.ok(tools.includes(name), `${name} in ${tools.join(", ")}`);
  });

  it("evaluates the chart's alerts on the real series: a rejected policy version fires, unenforced pods are pending", async () => {
    await apply(policyManifest({ brokenRule: true }));
    await eventually(
      async () => {
        const [reloads] = await prometheus!.query(
          `mcp_warden_policy_reloads_total{namespace="${AGENTS}", pod="kestra-0", result="invalid"}`,
        );
        assert.equal(reloads?.value[1], "1");
      },
      { timeoutMs: 30_000 },
    );
    await eventually(
      async () => {
        const rules = await prometheus!.rules();
        assert.deepEqual(
          rules.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.lastError}`),
          [],
        );
        const reload = rules.find((r) => r.name === "McpWardenPolicyReloadFailed");
        assert.deepEqual(
          reload?.alerts?.map((a) => [a.state, a.labels.namespace, a.labels.pod]),
          [["firing", AGENTS, "kestra-0"]],
        );
        const unenforced = rules.find((r) => r.name === "McpWardenPodsNotEnforced");
        assert.deepEqual(
          unenforced?.alerts?.map((a) => [a.state, a.labels.policy, Number(a.value)]),
          [["pending", `${AGENTS}/${POLICY}`, 1]],
        );
        const pending = rules.find((r) => r.name === "McpWardenApprovalsPending");
        assert.deepEqual(
          pending?.alerts?.map((a) => a.state),
          ["pending"],
          "an approval is waiting (fires after its for)",
        );
        for (const quiet of [
          "McpWardenOperatorDown",
          "McpWardenSidecarWithoutPolicy",
          "McpWardenWebhookErrors",
          "McpWardenWebhookCertificateExpiresSoon",
        ]) {
          assert.equal(rules.find((r) => r.name === quiet)?.state, "inactive", quiet);
        }
      },
      { timeoutMs: 30_000 },
    );
    // Fixed again: the sidecar takes the new generation, and the dashboard shows it in force.
    await apply(policyManifest());
    await eventually(
      async () => {
        const samples = await prometheus!.query(
          `mcp_warden_policy_info{namespace="${AGENTS}", policy="${AGENTS}/${POLICY}"}`,
        );
        assert.deepEqual(
          samples.map((s) => s.metric.version),
          ["3"],
        );
      },
      { timeoutMs: 30_000 },
    );
  });

  it("upgrades with helm: the new values take effect, the caBundle stays trusted and injection keeps working", async () => {
    const admission = cluster.client(AdmissionregistrationV1Api);
    const { resourceVersion } =
      (await admission.readMutatingWebhookConfiguration({ name: "mcp-warden-injector" })).metadata ?? {};
    const upgrade = await cluster.helm([
      "upgrade",
      "mcp-warden",
      CHART_DIR,
      "--namespace",
      NS,
      "--reuse-values",
      "--set",
      "webhook.timeoutSeconds=4",
    ]);
    assert.match(upgrade.stdout, /STATUS: deployed/);
    const ca = Buffer.from(
      (await core.readNamespacedSecret({ namespace: NS, name: "mcp-warden-webhook-tls" })).data?.["ca.crt"] ?? "",
      "base64",
    ).toString();
    const config = await admission.readMutatingWebhookConfiguration({ name: "mcp-warden-injector" });
    assert.notEqual(config.metadata?.resourceVersion, resourceVersion, "helm changed the configuration");
    assert.equal(config.webhooks?.[0]?.timeoutSeconds, 4);
    assert.equal(
      Buffer.from(config.webhooks?.[0]?.clientConfig.caBundle ?? "", "base64").toString(),
      ca,
      "the caBundle is still the operator's CA",
    );
    const dryRun = await core.createNamespacedPod({
      namespace: AGENTS,
      body: kestraPod("after-upgrade"),
      dryRun: "All",
    });
    assert.ok(dryRun.spec?.initContainers?.some((c) => c.name === "mcp-warden"));
  });

  it("uninstalls with helm, keeping the CRDs, every McpPolicy and McpApproval", async () => {
    stopping = true;
    await traffic?.stop();
    await approvalTraffic?.stop();
    await admissions;
    await cluster.helm(["uninstall", "mcp-warden", "--namespace", NS]);
    await cluster.kubectl(["get", "crd", "mcppolicies.mcpwarden.io"]);
    await cluster.kubectl(["get", "crd", "mcpapprovals.mcpwarden.io"]);
    const approvals = await cluster.kubectl(["get", "mcpa", "-n", AGENTS, "-o", "name"]);
    assert.match(
      approvals.stdout,
      /^mcpapproval\.mcpwarden\.io\//m,
      "approvals stay for the operator of a later install to clean up",
    );
    const { stdout } = await cluster.kubectl(["get", "mcpp", POLICY, "-n", AGENTS, "-o", "name"]);
    assert.equal(stdout.trim(), "mcppolicy.mcpwarden.io/kestra");
    await assert.rejects(
      cluster.client(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: "mcp-warden-injector" }),
      /404|not found/i,
    );
  });
});
