// Proves that the harness gives a real, working cluster: the API with etcd behind it, the
// controllers, the service-account issuer, admission (Pod Security, webhooks), RBAC, and an API
// server that can be stopped and started while etcd keeps the data.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import type { V1Pod, V1PodTemplateSpec } from "@kubernetes/client-node";
import { createLocalJWKSet, decodeJwt, errors, jwtVerify } from "jose";
import type { JSONWebKeySet } from "jose";
import { startLabellingWebhook } from "./fixtures/labelling-webhook.ts";
import { KubectlError, startControlPlane } from "./harness.ts";
import type { ControlPlane } from "./harness.ts";
import { httpsGet } from "./https-get.ts";
import { controlPlaneDirPrefix } from "./orphans.ts";
import { eventually } from "../support/eventually.ts";

const restrictedContainer = {
  image: "registry.example/app:1",
  securityContext: {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    runAsNonRoot: true,
    runAsUser: 1000,
    seccompProfile: { type: "RuntimeDefault" },
  },
};

function pod(name: string, spec: Partial<V1Pod["spec"]> = {}): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "app", ...restrictedContainer }], ...spec },
  };
}

function podTemplate(labels: Record<string, string>): V1PodTemplateSpec {
  return { metadata: { labels }, spec: pod("template").spec };
}

/** The message of the Status object a failed API request answered with. */
function statusMessage(error: unknown): string {
  assert.ok(error instanceof ApiException, `expected an API error, got ${String(error)}`);
  return (JSON.parse(String(error.body)) as { message: string }).message;
}

// Bounds, so that a hang fails the run instead of stalling it; far above the usual seconds.
const timeout = 90_000;

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

void describe("test control plane", () => {
  let cluster: ControlPlane;
  let core: CoreV1Api;

  before(
    async () => {
      cluster = await startControlPlane({ name: "harness" });
      core = cluster.client(CoreV1Api);
    },
    { timeout: 300_000 },
  );
  after(async () => {
    await cluster?.stop();
  });

  void test("serves the API of the built Kubernetes version, stored in the built etcd", { timeout }, async () => {
    const version = await httpsGet(`${cluster.server}/version`, {
      caPem: cluster.caPem,
      token: (await cluster.requestServiceAccountToken("default", "default")).token,
    });
    assert.equal(
      (JSON.parse(version.body) as { gitVersion: string }).gitVersion,
      `v${cluster.binaries.versions.kubernetes}`,
    );
    const etcd = (await (await fetch(`${cluster.etcdUrl}/version`)).json()) as { etcdserver: string };
    assert.equal(etcd.etcdserver, cluster.binaries.versions.etcd);
  });

  void test("creates, reads, updates and deletes namespaces and ConfigMaps", { timeout }, async () => {
    await cluster.createNamespace("crud", { labels: { team: "platform" } });
    assert.equal((await core.readNamespace({ name: "crud" })).metadata?.labels?.team, "platform");
    await core.createNamespacedConfigMap({
      namespace: "crud",
      body: { metadata: { name: "settings" }, data: { mode: "Enforce" } },
    });
    await core.patchNamespacedConfigMap({
      namespace: "crud",
      name: "settings",
      body: [{ op: "replace", path: "/data/mode", value: "Audit" }],
    });
    assert.equal((await core.readNamespacedConfigMap({ namespace: "crud", name: "settings" })).data?.mode, "Audit");
    await cluster.kubectl(["apply", "-n", "crud", "-f", "-"], {
      input: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied}\ndata: {via: kubectl}\n",
    });
    const listed = JSON.parse((await cluster.kubectl(["get", "configmaps", "-n", "crud", "-o", "json"])).stdout) as {
      items: { metadata: { name: string } }[];
    };
    // kube-root-ca.crt comes from a controller, sooner or later: not this test's subject.
    assert.deepEqual(
      listed.items
        .map((item) => item.metadata.name)
        .filter((name) => name !== "kube-root-ca.crt")
        .sort(),
      ["applied", "settings"],
    );
    await core.deleteNamespacedConfigMap({ namespace: "crud", name: "settings" });
    assert.equal(await statusOf(core.readNamespacedConfigMap({ namespace: "crud", name: "settings" })), 404);
    await core.deleteNamespace({ name: "crud" });
    // The namespace controller empties a Terminating namespace, then the API server removes it.
    await eventually(async () => assert.equal(await statusOf(core.readNamespace({ name: "crud" })), 404), {
      timeoutMs: 60_000,
    });
  });

  void test("installs a Helm chart with the built helm", { timeout }, async () => {
    const chart = join(cluster.dir, "probe-chart");
    mkdirSync(join(chart, "templates"), { recursive: true });
    writeFileSync(join(chart, "Chart.yaml"), "apiVersion: v2\nname: probe\nversion: 0.1.0\n");
    writeFileSync(join(chart, "values.yaml"), "greeting: hello\n");
    writeFileSync(
      join(chart, "templates", "configmap.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
    );
    await cluster.createNamespace("helm");
    assert.match(
      (await cluster.helm(["version", "--short"])).stdout,
      new RegExp(`^v${cluster.binaries.versions.helm.replaceAll(".", "\\.")}`),
    );
    await cluster.helm(["install", "probe", chart, "--namespace", "helm", "--set", "greeting=from-the-test"]);
    assert.equal(
      (await core.readNamespacedConfigMap({ namespace: "helm", name: "probe-settings" })).data?.greeting,
      "from-the-test",
    );
    const releases = JSON.parse((await cluster.helm(["list", "--namespace", "helm", "--output", "json"])).stdout) as {
      name: string;
      status: string;
    }[];
    assert.deepEqual(
      releases.map(({ name, status }) => ({ name, status })),
      [{ name: "probe", status: "deployed" }],
    );
  });

  void test(
    "gives new namespaces a default ServiceAccount and the cluster CA (controller-manager)",
    { timeout },
    async () => {
      await cluster.createNamespace("fresh", { waitForDefaultServiceAccount: false });
      const serviceAccount = await eventually(() =>
        core.readNamespacedServiceAccount({ namespace: "fresh", name: "default" }),
      );
      assert.equal(serviceAccount.metadata?.namespace, "fresh");
      const rootCa = await eventually(() =>
        core.readNamespacedConfigMap({ namespace: "fresh", name: "kube-root-ca.crt" }),
      );
      assert.equal(rootCa.data?.["ca.crt"]?.trim(), cluster.caPem.trim());
    },
  );

  void test(
    "turns a Deployment into a ReplicaSet and a Pending Pod (controller-manager, ServiceAccount admission)",
    { timeout },
    async () => {
      await cluster.createNamespace("workloads");
      const apps = cluster.client(AppsV1Api);
      const deployment = await apps.createNamespacedDeployment({
        namespace: "workloads",
        body: {
          metadata: { name: "kestra-mcp" },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: "kestra-mcp" } },
            template: podTemplate({ app: "kestra-mcp" }),
          },
        },
      });
      const replicaSet = await eventually(async () => {
        const [only, ...rest] = (await apps.listNamespacedReplicaSet({ namespace: "workloads" })).items;
        assert.equal(rest.length, 0);
        assert.equal(only?.metadata?.ownerReferences?.[0]?.uid, deployment.metadata?.uid);
        return only!;
      });
      const created = await eventually(async () => {
        const [only] = (await core.listNamespacedPod({ namespace: "workloads" })).items;
        assert.equal(only?.metadata?.ownerReferences?.[0]?.uid, replicaSet.metadata?.uid);
        return only!;
      });
      assert.equal(created.status?.phase, "Pending"); // no scheduler, no kubelet
      assert.equal(created.spec?.nodeName, undefined);
      assert.equal(created.spec?.serviceAccountName, "default");
      assert.ok(
        created.spec?.volumes?.some((volume) => volume.name.startsWith("kube-api-access-") && volume.projected),
        "ServiceAccount admission adds the projected token volume",
      );
    },
  );

  void test(
    "issues TokenRequest tokens that verify against the issuer's OIDC discovery and JWKS",
    { timeout },
    async () => {
      await cluster.createNamespace("tokens");
      await core.createNamespacedServiceAccount({ namespace: "tokens", body: { metadata: { name: "mcp-client" } } });
      const boundTo = await core.createNamespacedPod({
        namespace: "tokens",
        body: pod("agent", { serviceAccountName: "mcp-client" }),
      });
      const { token } = await cluster.requestServiceAccountToken("tokens", "mcp-client", {
        audiences: ["mcp-warden"],
        expirationSeconds: 600,
        boundPod: { name: "agent", uid: boundTo.metadata!.uid! },
      });
      // Discovery needs an authenticated caller (system:service-account-issuer-discovery), as on kubeadm.
      const anonymous = await httpsGet(`${cluster.issuer}/.well-known/openid-configuration`, { caPem: cluster.caPem });
      assert.equal(anonymous.status, 403);
      const apiToken = (await cluster.requestServiceAccountToken("tokens", "mcp-client")).token;
      const discovery = JSON.parse(
        (
          await httpsGet(`${cluster.issuer}/.well-known/openid-configuration`, {
            caPem: cluster.caPem,
            token: apiToken,
          })
        ).body,
      ) as { issuer: string; jwks_uri: string };
      assert.equal(discovery.issuer, cluster.issuer);
      assert.equal(discovery.jwks_uri, `${cluster.issuer}/openid/v1/jwks`);
      const jwks = createLocalJWKSet(
        JSON.parse(
          (await httpsGet(discovery.jwks_uri, { caPem: cluster.caPem, token: apiToken })).body,
        ) as JSONWebKeySet,
      );

      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer: cluster.issuer,
        audience: "mcp-warden",
      });
      assert.equal(protectedHeader.alg, "RS256");
      assert.equal(payload.sub, "system:serviceaccount:tokens:mcp-client");
      assert.deepEqual((payload["kubernetes.io"] as { pod: { name: string; uid: string } }).pod, {
        name: "agent",
        uid: boundTo.metadata!.uid,
      });
      await assert.rejects(
        jwtVerify(token, jwks, { issuer: cluster.issuer, audience: "another-service" }),
        errors.JWTClaimValidationFailed,
      );
      const [header, body, signature] = token.split(".");
      const forged = Buffer.from(
        JSON.stringify({ ...payload, sub: "system:serviceaccount:kube-system:admin" }),
      ).toString("base64url");
      assert.notEqual(forged, body);
      await assert.rejects(jwtVerify(`${header}.${forged}.${signature}`, jwks), errors.JWSSignatureVerificationFailed);
    },
  );

  void test("gives a process the pod's service-account volume, as the kubelet would", { timeout }, async () => {
    await cluster.createNamespace("in-pod");
    await core.createNamespacedServiceAccount({ namespace: "in-pod", body: { metadata: { name: "reader" } } });
    await cluster.client(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: "in-pod",
      body: {
        metadata: { name: "reader-view" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: "in-pod" }],
      },
    });
    await core.createNamespacedPod({ namespace: "in-pod", body: pod("mcp-server", { serviceAccountName: "reader" }) });
    const volume = await cluster.podServiceAccountVolume("in-pod", "mcp-server");
    assert.equal(volume.serviceAccount, "reader");
    const claims = decodeJwt(readFileSync(volume.tokenFile, "utf8"));
    assert.equal(
      (claims["kubernetes.io"] as { pod: { name: string } }).pod.name,
      "mcp-server",
      "the token is bound to the pod",
    );
    assert.equal(readFileSync(volume.namespaceFile, "utf8"), "in-pod");

    const inCluster = new KubeConfig();
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    Object.assign(process.env, volume.env);
    try {
      inCluster.loadFromCluster(volume.pathPrefix);
    } finally {
      for (const [name, value] of [
        ["KUBERNETES_SERVICE_HOST", saved.host],
        ["KUBERNETES_SERVICE_PORT", saved.port],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    assert.equal(inCluster.getCurrentCluster()?.server, cluster.server);
    const asPod = inCluster.makeApiClient(CoreV1Api);
    assert.equal(await statusOf(asPod.listNamespacedPod({ namespace: "in-pod" })), 200);
    assert.equal(
      await statusOf(asPod.listNamespacedSecret({ namespace: "in-pod" })),
      403,
      "view does not include secrets",
    );
    assert.equal(await statusOf(asPod.listNamespacedPod({ namespace: "default" })), 403, "the binding is namespaced");
  });

  void test("enforces Pod Security restricted and accepts a native sidecar", { timeout }, async () => {
    await cluster.createNamespace("restricted", { labels: { "pod-security.kubernetes.io/enforce": "restricted" } });
    const privileged = pod("privileged");
    privileged.spec!.containers[0]!.securityContext = { privileged: true };
    await assert.rejects(core.createNamespacedPod({ namespace: "restricted", body: privileged }), (error: unknown) => {
      assert.match(
        statusMessage(error),
        /violates PodSecurity "restricted:latest": privileged \(container "app" must not set securityContext.privileged=true\)/,
      );
      assert.equal((error as ApiException<unknown>).code, 403);
      return true;
    });
    const sidecar = { name: "mcp-warden", restartPolicy: "Always", ...restrictedContainer };
    const stored = await core.createNamespacedPod({
      namespace: "restricted",
      body: pod("with-sidecar", { initContainers: [sidecar] }),
    });
    assert.equal(
      stored.spec?.initContainers?.[0]?.restartPolicy,
      "Always",
      "native sidecars are on: the API server keeps restartPolicy",
    );
  });

  void test(
    "calls a mutating webhook by URL and stores its patch; with failurePolicy Fail, refuses when it is down",
    { timeout },
    async () => {
      const certificate = await cluster.issueServingCertificate("labelling-webhook");
      const webhook = await startLabellingWebhook(certificate, { key: "mcpwarden.io/mutated", value: "true" });
      try {
        await cluster.createNamespace("injected", { labels: { "webhook-test": "enabled" } });
        await cluster.createNamespace("not-injected");
        await cluster.registerMutatingWebhook({
          name: "labelling",
          url: webhook.url,
          caPem: certificate.caPem,
          namespaceSelector: { matchLabels: { "webhook-test": "enabled" } },
        });
        // The API server learns of new webhook configurations through an informer: wait with dry runs.
        await eventually(async () => {
          const dryRun = await core.createNamespacedPod({ namespace: "injected", body: pod("probe"), dryRun: "All" });
          assert.equal(dryRun.metadata?.labels?.["mcpwarden.io/mutated"], "true");
        });
        const stored = await core.createNamespacedPod({
          namespace: "injected",
          body: pod("mutated", { serviceAccountName: "default" }),
        });
        assert.equal(stored.metadata?.labels?.["mcpwarden.io/mutated"], "true");
        assert.ok(
          webhook.requests.some(
            (seen) =>
              seen.kind === "Pod" && seen.operation === "CREATE" && seen.namespace === "injected" && !seen.dryRun,
          ),
        );
        const untouched = await core.createNamespacedPod({ namespace: "not-injected", body: pod("plain") });
        assert.equal(untouched.metadata?.labels?.["mcpwarden.io/mutated"], undefined);
        assert.ok(
          !webhook.requests.some((seen) => seen.namespace === "not-injected"),
          "the namespaceSelector keeps other namespaces away",
        );

        await webhook.close();
        await assert.rejects(
          core.createNamespacedPod({ namespace: "injected", body: pod("unguarded") }),
          (error: unknown) => {
            assert.match(statusMessage(error), /failed calling webhook "labelling\.test\.mcpwarden\.io"/);
            return true;
          },
        );
        assert.equal(await statusOf(core.readNamespacedPod({ namespace: "injected", name: "unguarded" })), 404);
      } finally {
        await webhook.close();
        await cluster.kubectl(["delete", "mutatingwebhookconfiguration", "labelling", "--ignore-not-found"]);
      }
    },
  );

  void test(
    "denies a user and a service account without RBAC (403) and allows them once bound",
    { timeout },
    async () => {
      await cluster.createNamespace("rbac");
      const jane = await cluster.userCredentials("jane", ["mcp-warden-testers"]);
      const whoami = JSON.parse(
        (await cluster.kubectl(["auth", "whoami", "-o", "json"], { kubeconfig: jane.kubeconfigPath })).stdout,
      ) as { status: { userInfo: { username: string; groups: string[] } } };
      assert.equal(whoami.status.userInfo.username, "jane");
      assert.ok(whoami.status.userInfo.groups.includes("mcp-warden-testers"));
      const janeCore = jane.kubeConfig.makeApiClient(CoreV1Api);
      assert.equal(await statusOf(janeCore.listNamespacedPod({ namespace: "rbac" })), 403);
      await assert.rejects(
        cluster.kubectl(["get", "pods", "-n", "rbac"], { kubeconfig: jane.kubeconfigPath }),
        (error: unknown) => {
          assert.ok(error instanceof KubectlError);
          assert.match(error.stderr, /Forbidden.*User "jane" cannot list resource "pods"/);
          return true;
        },
      );

      const robot = await cluster.serviceAccountCredentials("rbac", "default");
      const robotCore = robot.kubeConfig.makeApiClient(CoreV1Api);
      assert.equal(robot.userName, "system:serviceaccount:rbac:default");
      assert.equal(await statusOf(robotCore.listNamespacedSecret({ namespace: "rbac" })), 403);

      await cluster.client(RbacAuthorizationV1Api).createNamespacedRoleBinding({
        namespace: "rbac",
        body: {
          metadata: { name: "testers-view" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
          subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "mcp-warden-testers" }],
        },
      });
      await eventually(async () =>
        assert.equal(await statusOf(janeCore.listNamespacedPod({ namespace: "rbac" })), 200),
      );
      assert.equal(
        await statusOf(robotCore.listNamespacedSecret({ namespace: "rbac" })),
        403,
        "the binding is for the group only",
      );
    },
  );

  void test(
    "keeps the data across an API-server restart on the same port; controllers and tokens carry on",
    { timeout },
    async () => {
      await cluster.createNamespace("restart");
      const before = await core.createNamespacedConfigMap({
        namespace: "restart",
        body: { metadata: { name: "kept" }, data: { value: "written-before-the-outage" } },
      });
      const robot = await cluster.serviceAccountCredentials("restart", "default");

      await cluster.stopApiServer();
      assert.equal(cluster.apiServerRunning, false);
      await assert.rejects(httpsGet(`${cluster.server}/readyz`, { caPem: cluster.caPem }), { code: "ECONNREFUSED" });
      const key = Buffer.from("/registry/configmaps/restart/kept").toString("base64");
      const range = (await (
        await fetch(`${cluster.etcdUrl}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key }) })
      ).json()) as { kvs?: { value: string }[] };
      assert.match(
        Buffer.from(range.kvs?.[0]?.value ?? "", "base64").toString("latin1"),
        /written-before-the-outage/,
        "etcd holds the object while the API server is down",
      );

      // Clients hold the URL, so a restart must get the same port back, and says so when it cannot.
      const squatter = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => squatter.listen(Number(new URL(cluster.server).port), "127.0.0.1", resolve));
      try {
        await assert.rejects(
          cluster.startApiServer(),
          /cannot restart: another process took port \d+ while it was stopped/,
        );
      } finally {
        await new Promise((resolve) => squatter.close(resolve));
      }
      await cluster.startApiServer();
      const after = await core.readNamespacedConfigMap({ namespace: "restart", name: "kept" });
      assert.equal(after.metadata?.uid, before.metadata?.uid);
      assert.equal(after.data?.value, "written-before-the-outage");
      const whoami = await cluster.kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"], {
        kubeconfig: robot.kubeconfigPath,
      });
      assert.equal(
        whoami.stdout,
        "system:serviceaccount:restart:default",
        "a token issued before the restart still authenticates",
      );
      await cluster.client(AppsV1Api).createNamespacedDeployment({
        namespace: "restart",
        body: {
          metadata: { name: "after" },
          spec: { selector: { matchLabels: { app: "after" } }, template: podTemplate({ app: "after" }) },
        },
      });
      await eventually(
        async () => assert.equal((await core.listNamespacedPod({ namespace: "restart" })).items.length, 1),
        { timeoutMs: 60_000 },
      );
    },
  );
});

void describe("test control plane start-up failures", () => {
  void test("fail with the component's own error and leave nothing running", { timeout }, async () => {
    const label = `broken-${process.pid}`;
    await assert.rejects(
      startControlPlane({ name: label, apiServerFlags: { "authorization-mode": "NoSuchMode" } }),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /kube-apiserver exited \(exit code 1\) before it was ready/);
        assert.match(error.message, /NoSuchMode/, "the error carries the tail of the component's log");
        return true;
      },
    );
    const marker = `${controlPlaneDirPrefix}${label}-`;
    assert.deepEqual(
      readdirSync(tmpdir()).filter((entry) => entry.startsWith(marker)),
      [],
      "the temp dir is removed",
    );
    const survivors = readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
        } catch {
          return false; // exited meanwhile
        }
      });
    assert.deepEqual(survivors, [], "etcd is stopped too");
  });
});
