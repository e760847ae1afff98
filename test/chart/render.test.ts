// `helm lint` and `helm template` of charts/mcp-warden for the default values and each scenario under
// ci/, with the key fields of the rendered manifests checked against the code they must agree with
// (the operator's RBAC and webhook configuration, the injector's names, the dashboard).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type {
  V1ClusterRole,
  V1Deployment,
  V1MutatingWebhookConfiguration,
  V1NetworkPolicy,
  V1PodDisruptionBudget,
  V1PolicyRule,
  V1Role,
  V1Service,
} from "@kubernetes/client-node";
import { parse, parseAllDocuments } from "yaml";
import { DASHBOARD_FILE } from "../../monitoring/dashboard/dashboard.ts";
import { ADMIN_PORT_NAME, POLICY_POD_LABEL } from "../../operator/names.ts";
import {
  DEFAULT_OPERATOR_NAMES,
  operatorClusterRules,
  operatorNamespaceRules,
} from "../../operator/rbac/operator-rbac.ts";
import { APPROVER_ROLE, APPROVER_RULES, DECISION_POLICY, decisionPolicy } from "../../operator/rbac/approver-role.ts";
import { SIDECAR_ROLE, SIDECAR_RULES } from "../../operator/rbac/sidecar-rbac.ts";
import { PINS_APPROVER_ROLE, PINS_APPROVER_RULES } from "../../operator/rbac/pins-approver-role.ts";
import { renderWebhookConfiguration } from "../../operator/webhook/configuration.testing.ts";
import {
  CHART_DIR,
  find,
  get,
  helm,
  kubeVersion,
  renderChart,
  SCENARIOS,
  scenarioFile,
  type KubeDocument,
} from "./chart.ts";

const root = join(import.meta.dirname, "..", "..");
const NAMESPACE = "mcp-warden-system";
const IMAGE = "ghcr.io/mcp-warden/mcp-warden:0.1.0";

const container = (docs: KubeDocument[]) =>
  get<V1Deployment>(docs, "Deployment", "mcp-warden-operator").spec!.template.spec!.containers[0]!;
const args = (docs: KubeDocument[]) => container(docs).args ?? [];
const flag = (docs: KubeDocument[], name: string) =>
  args(docs)
    .filter((a) => a.startsWith(`--${name}=`))
    .map((a) => a.slice(name.length + 3));
const webhook = (docs: KubeDocument[]) =>
  get<V1MutatingWebhookConfiguration>(docs, "MutatingWebhookConfiguration", "mcp-warden-injector").webhooks![0]!;

describe("helm lint", () => {
  for (const values of [undefined, ...SCENARIOS]) {
    it(`passes --strict with ${values ? `ci/${values}-values.yaml` : "the default values"}`, async () => {
      const output = await helm([
        "lint",
        CHART_DIR,
        "--strict",
        "--kube-version",
        kubeVersion(),
        ...(values ? ["--values", scenarioFile(values)] : []),
      ]);
      assert.match(output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }

  it("has a scenario file for every scenario the tests know, and no other", () => {
    assert.deepEqual(readdirSync(join(CHART_DIR, "ci")).sort(), SCENARIOS.map((s) => `${s}-values.yaml`).sort());
  });
});

describe("the chart with default values", () => {
  let docs: KubeDocument[];
  before(async () => {
    docs = await renderChart({ namespace: NAMESPACE });
  });

  it("runs two operator replicas from the one image, tagged with the appVersion, spread over nodes", () => {
    const deployment = get<V1Deployment>(docs, "Deployment", "mcp-warden-operator");
    assert.equal(deployment.metadata?.namespace, NAMESPACE);
    assert.equal(deployment.spec?.replicas, 2);
    assert.deepEqual(deployment.spec?.strategy?.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
    const pod = deployment.spec.template.spec!;
    assert.deepEqual(
      pod.topologySpreadConstraints?.map((c) => [c.topologyKey, c.whenUnsatisfiable, c.labelSelector?.matchLabels]),
      [
        ["kubernetes.io/hostname", "ScheduleAnyway", deployment.spec?.selector.matchLabels],
        ["topology.kubernetes.io/zone", "ScheduleAnyway", deployment.spec?.selector.matchLabels],
      ],
    );
    assert.equal(container(docs).image, IMAGE);
    const { version } = parse(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as {
      version: string;
      appVersion: string;
    };
    assert.equal(deployment.metadata?.labels?.["helm.sh/chart"], `mcp-warden-${version}`);
  });

  it("starts `mcp-warden operator` with the names the RBAC and the webhook configuration use, and the sidecar image", () => {
    assert.equal(args(docs)[0], "operator");
    assert.deepEqual(flag(docs, "sidecar-image"), [IMAGE], "the operator injects the image it runs from");
    assert.deepEqual(flag(docs, "sidecar-pull-policy"), ["IfNotPresent"]);
    assert.deepEqual(flag(docs, "webhook-service"), ["mcp-warden-operator"]);
    assert.deepEqual(flag(docs, "webhook-configuration"), [DEFAULT_OPERATOR_NAMES.webhookConfiguration]);
    assert.deepEqual(flag(docs, "webhook-secret"), [DEFAULT_OPERATOR_NAMES.webhookSecret]);
    assert.deepEqual(flag(docs, "lease"), [DEFAULT_OPERATOR_NAMES.name]);
    assert.deepEqual(flag(docs, "certificate-source"), ["self"]);
    assert.deepEqual(flag(docs, "webhook-host"), []);
    assert.deepEqual(flag(docs, "sidecar-resources"), [], "the operator's defaults unless set");
    const env = container(docs).env ?? [];
    assert.deepEqual(
      env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
      [
        ["POD_NAMESPACE", "metadata.namespace"],
        ["POD_NAME", "metadata.name"],
      ],
    );
  });

  it("probes readiness and liveness on the admin port, and has resources", () => {
    const c = container(docs);
    assert.deepEqual(
      c.ports?.map((p) => [p.name, p.containerPort]),
      [
        ["webhook", 9443],
        ["metrics", 9090],
      ],
    );
    assert.deepEqual([c.readinessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.port], ["/readyz", "metrics"]);
    assert.deepEqual([c.livenessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.port], ["/healthz", "metrics"]);
    assert.equal(c.startupProbe?.httpGet?.path, "/healthz");
    assert.deepEqual(c.resources, { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } });
  });

  it("runs with a restricted security context: non-root, read-only root filesystem, no capabilities", () => {
    const pod = get<V1Deployment>(docs, "Deployment").spec!.template.spec!;
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.deepEqual(container(docs).securityContext, {
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.equal(pod.serviceAccountName, "mcp-warden-operator");
    assert.equal(
      get<{ automountServiceAccountToken: boolean }>(docs, "ServiceAccount", "mcp-warden-operator")
        .automountServiceAccountToken,
      false,
      "only the operator's pods mount its token",
    );
  });

  it("keeps one replica available through disruptions", () => {
    const pdb = get<V1PodDisruptionBudget>(docs, "PodDisruptionBudget", "mcp-warden-operator");
    assert.equal(pdb.spec?.minAvailable, 1);
    assert.deepEqual(pdb.spec?.selector?.matchLabels, get<V1Deployment>(docs, "Deployment").spec?.selector.matchLabels);
  });

  it("puts the webhook behind a Service on 443 that selects the operator's pods", () => {
    const service = get<V1Service>(docs, "Service", "mcp-warden-operator");
    assert.deepEqual(
      service.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]),
      [
        ["webhook", 443, "webhook"],
        ["metrics", 9090, "metrics"],
      ],
    );
    const podLabels = get<V1Deployment>(docs, "Deployment").spec!.template.metadata!.labels!;
    for (const [key, value] of Object.entries(service.spec?.selector ?? {})) assert.equal(podLabels[key], value, key);
  });

  it("registers the webhook exactly as operator/webhook/configuration.testing.ts renders it, without a caBundle", () => {
    const rendered = get<V1MutatingWebhookConfiguration>(docs, "MutatingWebhookConfiguration", "mcp-warden-injector");
    const expected = renderWebhookConfiguration({
      name: "mcp-warden-injector",
      operatorNamespace: NAMESPACE,
      service: { name: "mcp-warden-operator", port: 443 },
    });
    assert.deepEqual(rendered.webhooks, expected.webhooks);
    const w = webhook(docs);
    assert.equal(w.clientConfig.caBundle, undefined, "the operator sets and rotates it");
    assert.equal(w.failurePolicy, "Fail");
    assert.equal(w.timeoutSeconds, 5);
    assert.equal(w.sideEffects, "None");
    assert.deepEqual(w.namespaceSelector?.matchLabels, { "mcpwarden.io/injection": "enabled" });
    assert.deepEqual(w.namespaceSelector?.matchExpressions?.[0]?.values, [
      "kube-system",
      "kube-public",
      "kube-node-lease",
      NAMESPACE,
    ]);
    assert.equal(rendered.metadata?.annotations, undefined, "no cert-manager annotation");
  });

  it("grants the operator exactly the rules of operator/rbac, and sidecars exactly SIDECAR_RULES", () => {
    const names = { ...DEFAULT_OPERATOR_NAMES, namespace: NAMESPACE };
    assert.deepEqual(get<V1ClusterRole>(docs, "ClusterRole", "mcp-warden-operator").rules, operatorClusterRules(names));
    assert.deepEqual(get<V1Role>(docs, "Role", "mcp-warden-operator").rules, operatorNamespaceRules(names));
    assert.deepEqual(get<V1ClusterRole>(docs, "ClusterRole", SIDECAR_ROLE).rules, SIDECAR_RULES);
    assert.deepEqual(get<V1ClusterRole>(docs, "ClusterRole", APPROVER_ROLE).rules, APPROVER_RULES);
    assert.deepEqual(get<V1ClusterRole>(docs, "ClusterRole", PINS_APPROVER_ROLE).rules, PINS_APPROVER_RULES);
    for (const kind of ["ClusterRoleBinding", "RoleBinding"]) {
      const binding = get<{ roleRef: { kind: string; name: string }; subjects: unknown[] }>(
        docs,
        kind,
        "mcp-warden-operator",
      );
      assert.deepEqual(binding.subjects, [
        { kind: "ServiceAccount", name: "mcp-warden-operator", namespace: NAMESPACE },
      ]);
      assert.equal(binding.roleRef.name, "mcp-warden-operator");
    }
  });

  it("has the API server check every approval decision exactly as decisionPolicy() says (Kubernetes 1.30 and later)", async () => {
    const [policy, binding] = decisionPolicy() as Array<{ kind: string; spec: unknown }>;
    assert.deepEqual(get<{ spec: unknown }>(docs, "ValidatingAdmissionPolicy", DECISION_POLICY).spec, policy?.spec);
    assert.deepEqual(
      get<{ spec: unknown }>(docs, "ValidatingAdmissionPolicyBinding", DECISION_POLICY).spec,
      binding?.spec,
    );
    const old = await renderChart({ namespace: NAMESPACE, kubeVersion: "1.29.4" });
    assert.ok(!old.some((d) => d.kind.startsWith("ValidatingAdmissionPolicy")), "left out where the API is not GA");
    assert.deepEqual(
      get<V1ClusterRole>(old, "ClusterRole", APPROVER_ROLE).rules,
      APPROVER_RULES,
      "RBAC still decides who approves",
    );
  });

  it("has no wildcard, escalate, bind or impersonate in any RBAC rule", () => {
    const rules = docs
      .filter((d) => d.kind === "ClusterRole" || d.kind === "Role")
      .flatMap((d) => (d as { rules?: V1PolicyRule[] }).rules ?? []);
    assert.ok(rules.length >= 10);
    for (const rule of rules) {
      for (const value of [
        ...rule.verbs,
        ...(rule.resources ?? []),
        ...(rule.apiGroups ?? []),
        ...(rule.resourceNames ?? []),
      ])
        assert.notEqual(value, "*", JSON.stringify(rule));
      for (const verb of ["escalate", "bind", "impersonate"])
        assert.ok(!rule.verbs.includes(verb), JSON.stringify(rule));
    }
  });

  it("renders no monitoring, cert-manager or NetworkPolicy objects unless asked", () => {
    const kinds = new Set(docs.map((d) => d.kind));
    for (const kind of [
      "PodMonitor",
      "ServiceMonitor",
      "PrometheusRule",
      "ConfigMap",
      "Certificate",
      "Issuer",
      "NetworkPolicy",
    ])
      assert.ok(!kinds.has(kind), kind);
  });

  it("puts every namespaced object into the release namespace", () => {
    for (const doc of docs) {
      if (
        [
          "ClusterRole",
          "ClusterRoleBinding",
          "MutatingWebhookConfiguration",
          "ValidatingAdmissionPolicy",
          "ValidatingAdmissionPolicyBinding",
        ].includes(doc.kind)
      )
        assert.equal(doc.metadata.namespace, undefined);
      else assert.equal(doc.metadata.namespace, NAMESPACE, `${doc.kind}/${doc.metadata.name}`);
    }
  });

  it("ships every CRD of crds/ as a CRD (installed once, never changed or deleted by Helm), not as a template", async () => {
    const files = readdirSync(join(root, "crds"))
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    assert.deepEqual(readdirSync(join(CHART_DIR, "crds")).sort(), files, "the chart's crds/ is the repository's crds/");
    const shipped = parseAllDocuments(await helm(["show", "crds", CHART_DIR]))
      .map((d) => (d.toJS() as KubeDocument).metadata.name)
      .sort();
    const expected = files
      .map((f) => (parse(readFileSync(join(root, "crds", f), "utf8")) as KubeDocument).metadata.name)
      .sort();
    assert.deepEqual(shipped, expected);
    assert.ok(expected.includes("mcppolicies.mcpwarden.io") && expected.includes("mcpapprovals.mcpwarden.io"));
    assert.ok(!docs.some((d) => d.kind === "CustomResourceDefinition"));
  });
});

describe("chart scenarios", () => {
  it("single replica: no PodDisruptionBudget, the timeout from values", async () => {
    const docs = await renderChart({ valuesFiles: [scenarioFile("single-replica")] });
    assert.equal(get<V1Deployment>(docs, "Deployment").spec?.replicas, 1);
    assert.equal(find(docs, "PodDisruptionBudget"), undefined);
    assert.equal(webhook(docs).timeoutSeconds, 3);
  });

  it("cert-manager: a Certificate into the webhook Secret from the chart's CA Issuer, and cainjector fills the caBundle", async () => {
    const docs = await renderChart({ namespace: NAMESPACE, valuesFiles: [scenarioFile("cert-manager")] });
    assert.deepEqual(flag(docs, "certificate-source"), ["cert-manager"]);
    const certificate = get<{ spec: Record<string, unknown> }>(docs, "Certificate", "mcp-warden-webhook-tls");
    assert.equal(certificate.spec.secretName, DEFAULT_OPERATOR_NAMES.webhookSecret);
    assert.deepEqual(certificate.spec.dnsNames, [
      `mcp-warden-operator.${NAMESPACE}.svc`,
      `mcp-warden-operator.${NAMESPACE}.svc.cluster.local`,
    ]);
    assert.deepEqual(certificate.spec.issuerRef, { name: "mcp-warden-ca", kind: "Issuer", group: "cert-manager.io" });
    assert.deepEqual(
      get<{ spec: { isCA: boolean; issuerRef: { name: string } } }>(docs, "Certificate", "mcp-warden-ca").spec.issuerRef
        .name,
      "mcp-warden-selfsigned",
    );
    assert.ok(get(docs, "Issuer", "mcp-warden-selfsigned"));
    assert.deepEqual(get<{ spec: unknown }>(docs, "Issuer", "mcp-warden-ca").spec, {
      ca: { secretName: "mcp-warden-ca" },
    });
    const config = get<V1MutatingWebhookConfiguration>(docs, "MutatingWebhookConfiguration");
    assert.equal(
      config.metadata?.annotations?.["cert-manager.io/inject-ca-from"],
      `${NAMESPACE}/mcp-warden-webhook-tls`,
    );
    assert.equal(webhook(docs).clientConfig.caBundle, undefined);
  });

  it("cert-manager with an existing ClusterIssuer: no Issuers of our own", async () => {
    const docs = await renderChart({
      valuesFiles: [scenarioFile("cert-manager")],
      set: { "webhook.certificates.certManager.issuerRef": { name: "corp-ca", kind: "ClusterIssuer" } },
    });
    assert.equal(find(docs, "Issuer"), undefined);
    assert.equal(find(docs, "Certificate", "mcp-warden-ca"), undefined);
    assert.deepEqual(
      get<{ spec: { issuerRef: unknown } }>(docs, "Certificate", "mcp-warden-webhook-tls").spec.issuerRef,
      { name: "corp-ca", kind: "ClusterIssuer", group: "cert-manager.io" },
    );
  });

  it("monitoring: a PodMonitor for every injected sidecar, a ServiceMonitor for the operator, the alerts and the dashboard", async () => {
    const docs = await renderChart({ namespace: NAMESPACE, valuesFiles: [scenarioFile("monitoring")] });
    const podMonitor = get<{
      metadata: { labels: Record<string, string> };
      spec: { namespaceSelector: unknown; selector: unknown; podMetricsEndpoints: Array<Record<string, string>> };
    }>(docs, "PodMonitor", "mcp-warden-sidecars");
    assert.deepEqual(podMonitor.spec.namespaceSelector, { any: true });
    assert.deepEqual(
      podMonitor.spec.selector,
      { matchExpressions: [{ key: POLICY_POD_LABEL, operator: "Exists" }] },
      "the label the injector puts on injected pods",
    );
    assert.deepEqual(
      podMonitor.spec.podMetricsEndpoints,
      [{ port: ADMIN_PORT_NAME, path: "/metrics", interval: "30s" }],
      "the port name the injector gives the sidecar's admin port",
    );
    assert.equal(podMonitor.metadata.labels.release, "kube-prometheus-stack");

    const serviceMonitor = get<{
      spec: {
        selector: { matchLabels: Record<string, string> };
        namespaceSelector: unknown;
        endpoints: Array<Record<string, unknown>>;
      };
    }>(docs, "ServiceMonitor", "mcp-warden-operator");
    const service = get<V1Service>(docs, "Service", "mcp-warden-operator");
    for (const [key, value] of Object.entries(serviceMonitor.spec.selector.matchLabels))
      assert.equal(service.metadata?.labels?.[key], value, key);
    assert.deepEqual(serviceMonitor.spec.namespaceSelector, { matchNames: [NAMESPACE] });
    assert.deepEqual(serviceMonitor.spec.endpoints, [
      { port: "metrics", path: "/metrics", interval: "30s", honorLabels: true },
    ]);

    const rules = get<{
      spec: {
        groups: Array<{
          rules: Array<{ alert: string; labels: Record<string, string>; annotations: Record<string, string> }>;
        }>;
      };
    }>(docs, "PrometheusRule", "mcp-warden");
    const alerts = rules.spec.groups.flatMap((g) => g.rules);
    assert.deepEqual(alerts.map((a) => a.alert).sort(), [
      "McpWardenApprovalsPending",
      "McpWardenDenialSpike",
      "McpWardenOperatorDown",
      "McpWardenPodsNotEnforced",
      "McpWardenPolicyReloadFailed",
      "McpWardenRateLimitStoreErrors",
      "McpWardenSidecarWithoutPolicy",
      "McpWardenToolDefinitionDrift",
      "McpWardenWebhookCertificateExpiresSoon",
      "McpWardenWebhookErrors",
      "McpWardenWebhookSlow",
    ]);
    for (const alert of alerts) {
      assert.equal(alert.labels.team, "platform", `${alert.alert} carries alertLabels`);
      assert.match(alert.labels.severity ?? "", /^(warning|critical)$/);
      assert.equal(
        alert.annotations.runbook_url,
        `https://example.com/mcp-warden/docs/alerts.md#${alert.alert.toLowerCase()}`,
      );
      assert.ok(alert.annotations.summary && alert.annotations.description, alert.alert);
    }

    const dashboard = get<{
      metadata: { namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
      data: Record<string, string>;
    }>(docs, "ConfigMap", "mcp-warden-dashboard");
    assert.equal(dashboard.metadata.namespace, "monitoring");
    assert.equal(dashboard.metadata.labels.grafana_dashboard, "1");
    assert.equal(dashboard.metadata.annotations.grafana_folder, "MCP");
    assert.deepEqual(
      JSON.parse(dashboard.data["mcp-warden.json"] ?? ""),
      JSON.parse(readFileSync(join(root, DASHBOARD_FILE), "utf8")),
    );
  });

  it("monitoring without the ServiceMonitor: no OperatorDown alert (it could only fire)", async () => {
    const docs = await renderChart({
      valuesFiles: [scenarioFile("monitoring")],
      set: { "monitoring.serviceMonitor.enabled": false },
    });
    const rules = get<{ spec: { groups: Array<{ rules: Array<{ alert: string }> }> } }>(docs, "PrometheusRule");
    assert.ok(!rules.spec.groups.flatMap((g) => g.rules).some((r) => r.alert === "McpWardenOperatorDown"));
  });

  it("network policy: webhook and metrics in from the given peers; DNS and the API server out", async () => {
    const docs = await renderChart({ valuesFiles: [scenarioFile("network-policy")] });
    const policy = get<V1NetworkPolicy>(docs, "NetworkPolicy", "mcp-warden-operator");
    assert.deepEqual(
      policy.spec?.podSelector?.matchLabels,
      get<V1Deployment>(docs, "Deployment").spec?.selector.matchLabels,
    );
    assert.deepEqual(policy.spec?.policyTypes, ["Ingress", "Egress"]);
    // Raw YAML: `from`, which client-node's type calls `_from`.
    assert.deepEqual(
      policy.spec?.ingress?.map((r) => [r.ports?.map((p) => p.port), (r as { from?: unknown }).from]),
      [
        [[9443], [{ ipBlock: { cidr: "10.0.0.0/8" } }]],
        [[9090], [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }]],
      ],
    );
    assert.deepEqual(
      policy.spec?.egress?.map((r) => [r.ports?.map((p) => `${p.port}/${p.protocol}`), r.to]),
      [
        [["53/UDP", "53/TCP"], undefined],
        [["6443/TCP"], [{ ipBlock: { cidr: "10.0.0.1/32" } }]],
      ],
    );
  });

  it("a webhook URL instead of the Service: its host goes into the serving certificate", async () => {
    const docs = await renderChart({
      set: { "webhook.url": "https://127.0.0.1:8443/mutate-pods", "webhook.extraHosts": ["operator.dev.example"] },
    });
    assert.deepEqual(webhook(docs).clientConfig, { url: "https://127.0.0.1:8443/mutate-pods" });
    assert.deepEqual(flag(docs, "webhook-host"), ["127.0.0.1", "operator.dev.example"]);
  });

  it("tracing: one value turns it on for the operator and, through it, for every injected sidecar", async () => {
    const off = await renderChart({});
    assert.deepEqual([flag(off, "tracing"), flag(off, "sidecar-otlp-endpoint")], [[], []], "off unless set");
    const docs = await renderChart({ set: { "tracing.otlpEndpoint": "http://otel-collector.observability:4318" } });
    assert.deepEqual(
      [flag(docs, "tracing"), flag(docs, "sidecar-otlp-endpoint")],
      [["otlp"], ["http://otel-collector.observability:4318"]],
    );
    const env = container(docs).env ?? [];
    assert.deepEqual(
      env.find((e) => e.name === "OTEL_EXPORTER_OTLP_ENDPOINT")?.value,
      "http://otel-collector.observability:4318",
    );
  });

  it("an image digest pins both the operator and the sidecars", async () => {
    const digest = `sha256:${"a1".repeat(32)}`;
    const docs = await renderChart({
      set: {
        "image.digest": digest,
        "sidecar.resources": { requests: { cpu: "20m" } },
        "sidecar.pullPolicy": "Always",
      },
    });
    assert.equal(container(docs).image, `ghcr.io/mcp-warden/mcp-warden@${digest}`);
    assert.deepEqual(flag(docs, "sidecar-image"), [`ghcr.io/mcp-warden/mcp-warden@${digest}`]);
    assert.deepEqual(
      flag(docs, "sidecar-resources").map((j) => JSON.parse(j) as unknown),
      [{ requests: { cpu: "20m" } }],
    );
    assert.deepEqual(flag(docs, "sidecar-pull-policy"), ["Always"]);
  });
});

describe("values.schema.json", () => {
  const rejects = async (set: Record<string, unknown>, message: RegExp) => {
    await assert.rejects(renderChart({ set }), (error: Error) => {
      assert.match(error.message, /values don't meet the specifications of the schema/);
      assert.match(error.message, message);
      return true;
    });
  };

  it("rejects misspelt settings, naming them", () =>
    rejects({ "operator.replica": 2 }, /at '\/operator': additional properties 'replica' not allowed/));
  it("rejects zero replicas", () =>
    rejects({ "operator.replicas": 0 }, /at '\/operator\/replicas': minimum: got 0, want 1/));
  it("rejects an unknown failure policy", () =>
    rejects(
      { "webhook.failurePolicy": "Sometimes" },
      /at '\/webhook\/failurePolicy': value must be one of 'Fail', 'Ignore'/,
    ));
  it("rejects a timeout the API server would refuse", () =>
    rejects({ "webhook.timeoutSeconds": 31 }, /at '\/webhook\/timeoutSeconds': maximum/));
  it("rejects an unknown certificate source", () =>
    rejects({ "webhook.certificates.source": "vault" }, /'self', 'cert-manager'/));
  it("rejects a tracing endpoint that is not an http(s) URL", () =>
    rejects({ "tracing.otlpEndpoint": "otel-collector:4317" }, /at '\/tracing\/otlpEndpoint'/));
  it("rejects a malformed digest", () => rejects({ "image.digest": "latest" }, /at '\/image\/digest'/));
  it("rejects a tag inside the repository", () =>
    rejects({ "image.repository": "ghcr.io/x/mcp-warden:1.0" }, /at '\/image\/repository'/));
  it("rejects a webhook URL that is not https", () =>
    rejects({ "webhook.url": "http://127.0.0.1:8443/mutate-pods" }, /at '\/webhook\/url'/));
  it("rejects a scrape interval that is not a duration", () =>
    rejects({ "monitoring.podMonitor.interval": "soon" }, /at '\/monitoring\/podMonitor\/interval'/));
  it("rejects label values that are not strings", () =>
    rejects(
      { "monitoring.dashboard.labels": { grafana_folder: 1 } },
      /at '\/monitoring\/dashboard\/labels\/grafana_folder'/,
    ));
});
