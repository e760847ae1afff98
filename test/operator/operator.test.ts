// Smoke test of the operator on a real API server, running as its own service account with exactly
// the RBAC written down in operator/rbac: it makes its webhook certificate and sets the caBundle,
// the API server calls it to inject pods (which then pass Pod Security "restricted"), it reports
// McpPolicy status and Events, manages the sidecars' RBAC per opted-in namespace, and hands its
// Lease to a second replica. The end-to-end scenarios (the operator and sidecar as processes, real
// MCP traffic) are in test/cluster/e2e/.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  AdmissionregistrationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type V1Pod,
} from "@kubernetes/client-node";
import { pino } from "pino";
import { stringify } from "yaml";
import { startOperator, type RunningOperator } from "../../operator/operator.ts";
import { DEFAULT_OPERATOR_NAMES as N } from "../../operator/rbac/operator-rbac.ts";
import type { McpPolicyStatusType } from "../../policy/schema.ts";
import { KubectlError, startControlPlane, type ControlPlane } from "../cluster/harness.ts";
import { applyWebhookConfiguration, installMcpWarden, type McpWardenInstallation } from "../cluster/install.ts";
import { inProcessOperatorOptions } from "../cluster/operator-process.ts";
import { freePorts } from "../support/ports.ts";
import { eventually } from "../support/eventually.ts";

const leaseTimings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

const policy = (name: string, namespace: string, spec: Record<string, unknown>) =>
  stringify({ apiVersion: "mcpwarden.io/v1alpha1", kind: "McpPolicy", metadata: { name, namespace }, spec });

/** A pod whose own container already satisfies Pod Security "restricted". */
function mcpPod(name: string, labels: Record<string, string>): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "server",
          image: "docker.io/example/everything-mcp:1.4.0",
          ports: [{ name: "http", containerPort: 8080 }],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
}

describe("operator on a real API server, with its least-privilege RBAC", () => {
  let cluster: ControlPlane;
  let core: CoreV1Api;
  let objects: CustomObjectsApi;
  let operator: RunningOperator;
  let second: RunningOperator | undefined;
  let installation: McpWardenInstallation;
  const apply = (manifest: string) => cluster.kubectl(["apply", "-f", "-"], { input: manifest });
  const statusOf = async (namespace: string, name: string) =>
    (
      (await objects.getNamespacedCustomObject({
        group: "mcpwarden.io",
        version: "v1alpha1",
        namespace,
        plural: "mcppolicies",
        name,
      })) as { status?: McpPolicyStatusType }
    ).status;
  const ready = async (namespace: string, name: string) =>
    (await statusOf(namespace, name))?.conditions?.find((c) => c.type === "Ready");
  const start = async (identity: string) => {
    const [port] = (await freePorts(1)) as [number];
    return startOperator({
      ...inProcessOperatorOptions(installation, { identity, webhookPort: port }),
      leaseTimings,
      resyncIntervalMs: 2_000,
      // MCP_WARDEN_TEST_LOG=1 shows the operator's log while debugging this test.
      ...(process.env.MCP_WARDEN_TEST_LOG === "1"
        ? { logger: pino({ level: "debug", base: { identity } }, pino.destination(2)) }
        : {}),
    });
  };

  before(async () => {
    cluster = await startControlPlane({ name: "operator" });
    core = cluster.client(CoreV1Api);
    objects = cluster.client(CustomObjectsApi);
    installation = await installMcpWarden(cluster);
    await cluster.createNamespace("agents", {
      labels: { "mcpwarden.io/injection": "enabled", "pod-security.kubernetes.io/enforce": "restricted" },
    });
    await cluster.createNamespace("plain");
    // A pod created before any policy exists: it will be reported as running without the sidecar.
    await core.createNamespacedPod({ namespace: "agents", body: mcpPod("early", { app: "everything" }) });

    operator = await start("op-1");
    await applyWebhookConfiguration(cluster, N, `https://127.0.0.1:${operator.webhookPort}/mutate-pods`);
  });
  after(async () => {
    await second?.stop();
    await operator?.stop();
    await cluster?.stop();
  });

  it("creates the webhook certificate Secret and puts its CA into the caBundle", async () => {
    const secret = await core.readNamespacedSecret({ namespace: N.namespace, name: N.webhookSecret });
    assert.equal(secret.type, "kubernetes.io/tls");
    const ca = Buffer.from(secret.data?.["ca.crt"] ?? "", "base64").toString();
    assert.match(ca, /BEGIN CERTIFICATE/);
    await eventually(async () => {
      const config = await cluster
        .client(AdmissionregistrationV1Api)
        .readMutatingWebhookConfiguration({ name: N.webhookConfiguration });
      assert.equal(Buffer.from(config.webhooks?.[0]?.clientConfig.caBundle ?? "", "base64").toString(), ca);
    });
    const admin = await fetch(`http://127.0.0.1:${operator.adminPort}/readyz`);
    assert.equal(admin.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${operator.adminPort}/metrics`)).text();
    const expiry = Number(/mcp_warden_webhook_certificate_expiry_timestamp_seconds (\d+)/.exec(metrics)?.[1]);
    assert.ok(expiry > Date.now() / 1000 + 20 * 86_400, "a serving certificate valid for weeks");
  });

  it("injects a selected pod when the API server calls the webhook, and the pod passes Pod Security restricted", async () => {
    await apply(
      policy("everything", "agents", { podSelector: { matchLabels: { app: "everything" } }, upstream: { port: 8000 } }),
    );
    await eventually(() => assert.ok(operator.index.get("agents", "everything")));
    const created = await core.createNamespacedPod({
      namespace: "agents",
      body: mcpPod("injected", { app: "everything" }),
    });
    const sidecar = created.spec?.initContainers?.find((c) => c.name === "mcp-warden");
    assert.ok(sidecar, "the stored pod has the sidecar");
    assert.equal(sidecar.restartPolicy, "Always");
    assert.deepEqual(
      sidecar.ports?.map((p) => [p.name, p.containerPort]),
      [
        ["http", 8080],
        ["warden-admin", 9090],
      ],
    );
    assert.equal(sidecar.env?.find((e) => e.name === "MCP_WARDEN_POLICY")?.value, "k8s://agents/everything");
    assert.equal(created.spec?.containers[0]?.ports, undefined, "the server's port moved to the sidecar");
    assert.ok(created.metadata?.annotations?.["mcpwarden.io/status"]);

    const optedOut = await core.createNamespacedPod({
      namespace: "agents",
      body: mcpPod("opted-out", { app: "everything", "mcpwarden.io/inject": "false" }),
    });
    assert.equal(optedOut.spec?.initContainers, undefined);
  });

  it("rejects a pod that two policies select, naming both", async () => {
    await apply(
      policy("second", "agents", {
        podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["everything"] }] },
        upstream: { port: 8000 },
      }),
    );
    await eventually(() => assert.ok(operator.index.get("agents", "second")));
    await assert.rejects(
      cluster.kubectl(["apply", "-n", "agents", "-f", "-"], {
        input: stringify(mcpPod("contested", { app: "everything" })),
      }),
      (error: unknown) =>
        error instanceof KubectlError &&
        /mcp-warden: pod is selected by 2 McpPolicies in namespace agents \(everything, second\)/.test(error.stderr),
    );
    await eventually(async () => assert.equal((await ready("agents", "everything"))?.reason, "ConflictingSelector"));
    assert.match((await ready("agents", "second"))?.message ?? "", /McpPolicy everything also selects pod/);
    await cluster.kubectl(["delete", "mcpp", "second", "-n", "agents"]);
    await eventually(async () => assert.equal((await ready("agents", "everything"))?.reason, "Accepted"), {
      timeoutMs: 20_000,
    });
  });

  it("reports selected and enforced pods, and the pods running without the sidecar with the fix", async () => {
    await eventually(
      async () => {
        const status = await statusOf("agents", "everything");
        assert.equal(status?.observedGeneration, 1);
        assert.deepEqual([status?.selectedPods, status?.enforcedPods, status?.unguardedPods], [2, 1, ["early"]]);
        const pods = status?.conditions?.find((c) => c.type === "PodsEnforced");
        assert.equal(pods?.reason, "PodsWithoutSidecar");
        assert.match(pods?.message ?? "", /kubectl delete pod early -n agents/);
      },
      { timeoutMs: 20_000 },
    );
    const { stdout } = await cluster.kubectl(["get", "mcpp", "everything", "-n", "agents", "--no-headers"]);
    assert.match(stdout, /^everything\s+Enforce\s+deny\s+True\s+2\s+1\s+/);
    // The same counts as metrics, for the dashboard and the "selected but not enforced" alert.
    const metrics = await (await fetch(`http://127.0.0.1:${operator.adminPort}/metrics`)).text();
    assert.match(metrics, /^mcp_warden_policy_selected_pods\{namespace="agents",policy="agents\/everything"\} 2$/m);
    assert.match(metrics, /^mcp_warden_policy_enforced_pods\{namespace="agents",policy="agents\/everything"\} 1$/m);
    await eventually(async () => {
      const events = await core.listNamespacedEvent({
        namespace: "agents",
        fieldSelector: "involvedObject.name=early,reason=NotInjected",
      });
      const messages = events.items.map((e) => e.message ?? "");
      assert.ok(
        messages.some((m) =>
          /^McpPolicy everything selects this pod but it runs without the mcp-warden sidecar: .*kubectl delete pod early -n agents/.test(
            m,
          ),
        ),
        messages.join("\n"),
      );
    });
  });

  it("reports a rule the engine rejects on Ready, with the field path, and as an Event", async () => {
    await apply(
      policy("broken", "agents", {
        podSelector: { matchLabels: { app: "broken" } },
        tools: [{ name: "run", require: ["args.namespace.startsWith("] }],
      }),
    );
    await eventually(
      async () => {
        const condition = await ready("agents", "broken");
        assert.equal(condition?.reason, "InvalidRule");
        assert.equal(condition?.status, "False");
        assert.match(condition?.message ?? "", /^spec\.tools\[0\]\.require\[0\]: /);
        assert.equal(condition?.observedGeneration, 1);
      },
      { timeoutMs: 20_000 },
    );
    await eventually(async () => {
      const events = await core.listNamespacedEvent({
        namespace: "agents",
        fieldSelector: "involvedObject.name=broken,reason=InvalidRule",
      });
      assert.equal(events.items[0]?.type, "Warning");
    });
    const status = await statusOf("agents", "broken");
    assert.equal(status?.policyDigest, undefined);
  });

  it("says so when the policy's namespace is not opted in", async () => {
    await apply(policy("unlabelled", "plain", { podSelector: { matchLabels: { app: "x" } } }));
    await eventually(
      async () => {
        const condition = await ready("plain", "unlabelled");
        assert.equal(condition?.reason, "InjectionDisabled");
        assert.match(condition?.message ?? "", /kubectl label namespace plain mcpwarden\.io\/injection=enabled/);
      },
      { timeoutMs: 20_000 },
    );
  });

  it("grants the sidecars of opted-in namespaces read access to McpPolicies, and takes it back", async () => {
    const canI = async (namespace: string) => {
      try {
        await cluster.kubectl([
          "auth",
          "can-i",
          "watch",
          "mcppolicies.mcpwarden.io",
          "-n",
          namespace,
          "--as",
          `system:serviceaccount:${namespace}:default`,
        ]);
        return true;
      } catch (error) {
        if (error instanceof KubectlError && error.stdout.trim() === "no") return false;
        throw error;
      }
    };
    await eventually(async () => assert.equal(await canI("agents"), true));
    assert.equal(await canI("plain"), false);
    const rbac = cluster.client(RbacAuthorizationV1Api);
    const binding = await rbac.readNamespacedRoleBinding({ namespace: "agents", name: "mcp-warden-sidecar" });
    assert.deepEqual(
      binding.subjects?.map((s) => s.name),
      ["system:serviceaccounts:agents"],
    );

    await cluster.kubectl(["label", "namespace", "agents", "mcpwarden.io/injection-"]);
    await eventually(async () => assert.equal(await canI("agents"), false), { timeoutMs: 20_000 });
    await cluster.kubectl(["label", "namespace", "agents", "mcpwarden.io/injection=enabled"]);
    await eventually(async () => assert.equal(await canI("agents"), true), { timeoutMs: 20_000 });
  });

  it("runs the controller on the Lease holder only, and a second replica takes over when it stops", async () => {
    assert.equal(operator.isLeader(), true);
    const coordination = cluster.client(CoordinationV1Api);
    assert.equal(
      (await coordination.readNamespacedLease({ namespace: N.namespace, name: N.name })).spec?.holderIdentity,
      "op-1",
    );
    second = await start("op-2");
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(second.isLeader(), false, "a follower while op-1 renews");
    const metrics = await (await fetch(`http://127.0.0.1:${operator.adminPort}/metrics`)).text();
    assert.match(metrics, /mcp_warden_reconcile_total\{result="success"\} [1-9]/);
    assert.match(metrics, /mcp_warden_injections_total\{result="injected",reason="injected"\} 1/);
    assert.match(metrics, /mcp_warden_leader 1/);

    const standby = await (await fetch(`http://127.0.0.1:${second.adminPort}/metrics`)).text();
    assert.doesNotMatch(standby, /^mcp_warden_policy_selected_pods\{/m, "a standby publishes no policy counts");

    await operator.stop();
    await eventually(() => assert.equal(second?.isLeader(), true), { timeoutMs: 10_000 });
    await eventually(
      async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${second!.adminPort}/metrics`)).text();
        assert.match(
          metrics,
          /^mcp_warden_policy_selected_pods\{namespace="agents",policy="agents\/everything"\} \d+$/m,
          "the new leader publishes them",
        );
      },
      { timeoutMs: 10_000 },
    );
    assert.equal(
      (await coordination.readNamespacedLease({ namespace: N.namespace, name: N.name })).spec?.holderIdentity,
      "op-2",
    );
    // The new leader reconciles: a policy created now gets a status.
    await apply(policy("after-failover", "agents", { podSelector: { matchLabels: { app: "z" } } }));
    await eventually(async () => assert.equal((await ready("agents", "after-failover"))?.reason, "Accepted"), {
      timeoutMs: 20_000,
    });
  });
});
