// End-to-end, scenarios 2–4 of the real control plane: the operator runs as `mcp-warden operator`
// with its own ServiceAccount and RBAC, the API server calls its webhook by URL, and every claim is
// checked on what the API server stored.
//   2. A Deployment of the Kestra MCP image in an opted-in namespace enforcing Pod Security
//      "restricted" gets the native sidecar, the command moved to loopback, the port takeover, the
//      token volume and the status annotation, and passes "restricted".
//   3. Unlabelled namespaces, opted-out, unselected and hostNetwork pods are left untouched; a pod two
//      policies select is refused with both names.
//   4. Re-applying, reinvocation by another webhook, and a pod created with the sidecar already in it
//      never inject twice.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AppsV1Api, CoreV1Api, type V1Container, type V1Pod } from "@kubernetes/client-node";
import { DEFAULT_SIDECAR_RESOURCES } from "../../../operator/injector/config.ts";
import { heapEnv } from "../../../operator/injector/heap.ts";
import {
  DEFAULT_ADMIN_PORT,
  DEFAULT_PROFILE_UPSTREAM_PORT,
  INJECT_POD_LABEL,
  POLICY_POD_LABEL,
  SIDECAR_CONTAINER,
  STATUS_ANNOTATION,
  TOKEN_MOUNT_PATH,
  TOKEN_VOLUME,
} from "../../../operator/names.ts";
import { startLabellingWebhook, type LabellingWebhook } from "../fixtures/labelling-webhook.ts";
import { readControlPlaneVersions } from "../binaries.ts";
import { KubectlError, startControlPlane, type ControlPlane } from "../harness.ts";
import { applyWebhookConfiguration, installMcpWarden, waitForInjection } from "../install.ts";
import { startOperatorProcess, TEST_SIDECAR_IMAGE, type OperatorProcess } from "../operator-process.ts";
import { mcpPolicy, serverDeployment, serverPod, yaml, type ServerOptions } from "./manifests.ts";
import { eventually } from "../../support/eventually.ts";

const INJECTION = { "mcpwarden.io/injection": "enabled" };
const RESTRICTED = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
};
/** The cluster's own Pod Security version, e.g. v1.35: a different label value than "latest". */
const POD_SECURITY_VERSION = `v${minorVersion(readControlPlaneVersions().kubernetes)}`;
const KESTRA: ServerOptions = { labels: { app: "kestra-mcp", "mcp-server": "kestra" } };
/** The pods of the kestra-mcp Deployment (other pods in these tests share its app label). */
const DEPLOYMENT_PODS = "app=kestra-mcp,pod-template-hash";

describe("e2e: injection into pods as the API server stores them", () => {
  let cluster: ControlPlane;
  let operator: OperatorProcess;
  let core: CoreV1Api;
  const apply = (...documents: object[]) => cluster.kubectl(["apply", "-f", "-"], { input: yaml(...documents) });
  const podsOf = async (namespace: string, selector: string) =>
    (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
  const create = async (namespace: string, pod: V1Pod) => await core.createNamespacedPod({ namespace, body: pod });
  /**
   * What Pod Security "restricted" finds wrong with the pods stored in a namespace: a server-side
   * dry run of a label change to that level (an unchanged label is not re-evaluated, so the version
   * label changes from "latest" to the cluster's version).
   */
  const restrictedViolations = async (namespace: string) =>
    (
      await cluster.kubectl([
        "label",
        "--dry-run=server",
        "--overwrite",
        "namespace",
        namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        `pod-security.kubernetes.io/enforce-version=${POD_SECURITY_VERSION}`,
      ])
    ).stderr;
  const sidecars = (pod: V1Pod) => (pod.spec?.initContainers ?? []).filter((c) => c.name === SIDECAR_CONTAINER);

  before(async () => {
    cluster = await startControlPlane({ name: "e2e-injection" });
    core = cluster.client(CoreV1Api);
    const { names, operatorCredentials } = await installMcpWarden(cluster);
    await cluster.createNamespace("kestra", { labels: { ...INJECTION, ...RESTRICTED } });
    await cluster.createNamespace("plain");
    await cluster.createNamespace("loose", { labels: INJECTION });
    operator = await startOperatorProcess(cluster, {
      identity: "mcp-warden-operator-0",
      namespace: names.namespace,
      kubeconfigPath: operatorCredentials.kubeconfigPath,
    });
    await applyWebhookConfiguration(cluster, names, operator.webhookUrl);
    await apply(
      mcpPolicy("kestra", "kestra", {
        podSelector: { matchLabels: { "mcp-server": "kestra" } },
        upstream: { profile: "kestra" },
      }),
      mcpPolicy("kestra", "plain", {
        podSelector: { matchLabels: { "mcp-server": "kestra" } },
        upstream: { profile: "kestra" },
      }),
      mcpPolicy("kestra", "loose", {
        podSelector: { matchLabels: { "mcp-server": "kestra" } },
        upstream: { profile: "kestra" },
      }),
    );
    await waitForInjection(cluster, "kestra", serverPod("probe", KESTRA));
  });
  after(async () => {
    await operator?.stop();
    await cluster?.stop();
  });

  it("2. injects a Deployment of the Kestra image: native sidecar, loopback command, port takeover, token volume, status; passes restricted", async () => {
    await apply(serverDeployment("kestra-mcp", "kestra", 2, KESTRA));
    const pods = await eventually(async () => {
      const found = await podsOf("kestra", DEPLOYMENT_PODS);
      assert.equal(found.length, 2, "the ReplicaSet created both pods");
      return found;
    });
    for (const pod of pods) {
      const [sidecar, ...more] = sidecars(pod);
      assert.ok(sidecar, `${pod.metadata?.name} carries the sidecar`);
      assert.equal(more.length, 0);
      assert.equal(sidecar.restartPolicy, "Always", "a native sidecar: an init container that keeps running");
      assert.equal(sidecar.image, TEST_SIDECAR_IMAGE);
      assert.deepEqual(sidecar.args, ["sidecar"]);
      assert.deepEqual(envOf(sidecar), {
        MCP_WARDEN_POLICY: "k8s://kestra/kestra",
        MCP_WARDEN_UPSTREAM: `http://127.0.0.1:${DEFAULT_PROFILE_UPSTREAM_PORT}/mcp`,
        MCP_WARDEN_LISTEN: "0.0.0.0:8000",
        MCP_WARDEN_ADMIN_LISTEN: `0.0.0.0:${DEFAULT_ADMIN_PORT}`,
        // V8's old space capped under the default memory limit.
        NODE_OPTIONS: heapEnv(DEFAULT_SIDECAR_RESOURCES)?.value,
      });
      assert.deepEqual(
        sidecar.ports?.map((p) => [p.name, p.containerPort]),
        [
          ["mcp", 8000],
          ["warden-admin", DEFAULT_ADMIN_PORT],
        ],
        "the sidecar took the port over, name and number",
      );
      assert.equal(
        sidecar.startupProbe?.httpGet?.path,
        "/readyz",
        "the MCP server starts only once the policy is loaded",
      );
      assert.deepEqual(
        sidecar.volumeMounts?.map((m) => [m.name, m.mountPath, m.readOnly]),
        [[TOKEN_VOLUME, TOKEN_MOUNT_PATH, true]],
      );

      const kestra = pod.spec?.containers.find((c) => c.name === "kestra");
      assert.deepEqual(kestra?.command, [
        "fastmcp",
        "run",
        "src/server.py:mcp",
        "--transport",
        "http",
        "--host",
        "127.0.0.1",
        "--port",
        String(DEFAULT_PROFILE_UPSTREAM_PORT),
      ]);
      assert.equal(kestra?.ports, undefined, "the MCP server no longer declares the port");
      assert.ok(
        !kestra?.volumeMounts?.some((m) => m.name === TOKEN_VOLUME),
        "the sidecar's token is not mounted into the MCP server",
      );

      const token = pod.spec?.volumes
        ?.find((v) => v.name === TOKEN_VOLUME)
        ?.projected?.sources?.find((s) => s.serviceAccountToken);
      assert.equal(token?.serviceAccountToken?.path, "token");
      const status = JSON.parse(pod.metadata?.annotations?.[STATUS_ANNOTATION] ?? "{}") as Record<string, unknown>;
      assert.deepEqual(
        [status.policy, status.profile, status.port, status.upstreamPort],
        ["kestra", "kestra", { name: "mcp", number: 8000 }, DEFAULT_PROFILE_UPSTREAM_PORT],
      );
      assert.equal(pod.metadata?.labels?.[POLICY_POD_LABEL], "kestra");
    }
    // The namespace enforces "restricted", so the API server admitted the pods under it; evaluating
    // the stored pods against that level again finds nothing (test 3 shows it finds a violation).
    assert.equal(await restrictedViolations("kestra"), "");
    await eventually(async () => {
      const events = await core.listNamespacedEvent({
        namespace: "kestra",
        fieldSelector: "reason=Injected,involvedObject.kind=ReplicaSet",
      });
      assert.ok(
        events.items.some(
          (e) =>
            e.reportingInstance === "mcp-warden-operator-0" &&
            /McpPolicy kestra governs container "kestra" on port 8000/.test(e.message ?? ""),
        ),
      );
    });
  });

  it("2. leaves the MCP container's own security context to the user: the Kestra image as root is refused by restricted, the sidecar is not", async () => {
    await apply(
      serverDeployment("kestra-as-root", "kestra", 1, {
        labels: { app: "kestra-as-root", "mcp-server": "kestra" },
        restricted: false,
      }),
    );
    await eventually(async () => {
      const events = await core.listNamespacedEvent({
        namespace: "kestra",
        fieldSelector: "reason=FailedCreate,involvedObject.kind=ReplicaSet",
      });
      const message = events.items.map((e) => e.message ?? "").find((m) => m.includes("violates PodSecurity"));
      assert.ok(message, "the ReplicaSet could not create the pod");
      assert.match(message, /container "kestra" must set securityContext\.allowPrivilegeEscalation=false/);
      assert.doesNotMatch(message, /container "mcp-warden"/, "the injected sidecar complies on its own");
    });
    assert.equal((await podsOf("kestra", "app=kestra-as-root")).length, 0);
    await cluster.kubectl(["delete", "deployment", "kestra-as-root", "-n", "kestra"]);
  });

  it("3. leaves pods untouched in unlabelled namespaces, when opted out, when unselected, and with hostNetwork", async () => {
    const untouched = async (namespace: string, pod: V1Pod) => {
      const stored = await create(namespace, pod);
      assert.equal(stored.spec?.initContainers, undefined, `${namespace}/${pod.metadata?.name} has no sidecar`);
      assert.equal(stored.metadata?.annotations?.[STATUS_ANNOTATION], undefined);
      assert.equal(stored.metadata?.labels?.[POLICY_POD_LABEL], undefined);
      const [sent, kept] = [pod.spec?.containers[0], stored.spec?.containers[0]];
      assert.deepEqual(
        [kept?.command, kept?.ports?.map((p) => p.containerPort)],
        [sent?.command, sent?.ports?.map((p) => p.containerPort)],
      );
    };
    await untouched("plain", serverPod("unlabelled-namespace", KESTRA));
    await untouched("kestra", serverPod("opted-out", { labels: { ...KESTRA.labels, [INJECT_POD_LABEL]: "false" } }));
    await untouched("kestra", serverPod("unselected", { labels: { app: "something-else" } }));
    const before = await operator.metric("mcp_warden_injections_total", { result: "skipped", reason: "host_network" });
    // "loose" has no Pod Security label: "restricted" (and "baseline") forbid hostNetwork themselves.
    const { stderr } = await cluster.kubectl(["apply", "-n", "loose", "-f", "-"], {
      input: yaml(serverPod("host-network", { ...KESTRA, hostNetwork: true, restricted: false })),
    });
    assert.match(
      stderr,
      /Warning: mcp-warden: pod uses hostNetwork, so mcp-warden does not inject it: McpPolicy kestra is NOT enforced on this pod/,
    );
    const stored = await core.readNamespacedPod({ namespace: "loose", name: "host-network" });
    assert.equal(stored.spec?.initContainers, undefined);
    assert.match(await restrictedViolations("loose"), /host-network: host namespaces, hostPort/);
    assert.equal(
      await operator.metric("mcp_warden_injections_total", { result: "skipped", reason: "host_network" }),
      (before ?? 0) + 1,
    );
  });

  it("3. refuses a pod that two policies select, naming both, and stores nothing", async () => {
    await apply(
      mcpPolicy("kestra-too", "loose", {
        podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["kestra-mcp"] }] },
        upstream: { profile: "kestra" },
      }),
    );
    const error = await eventually(async () => {
      const failure = await cluster
        .kubectl(["apply", "-n", "loose", "-f", "-"], { input: yaml(serverPod("contested", KESTRA)) })
        .then(
          () => assert.fail("the API server created a pod two policies select"),
          (e: unknown) => e,
        );
      assert.ok(failure instanceof KubectlError);
      return failure;
    });
    assert.match(
      error.stderr,
      /admission webhook "inject\.mcpwarden\.io" denied the request: mcp-warden: pod is selected by 2 McpPolicies in namespace loose \(kestra, kestra-too\)/,
    );
    await assert.rejects(core.readNamespacedPod({ namespace: "loose", name: "contested" }), /HTTP-Code: 404/);
    await cluster.kubectl(["delete", "mcpp", "kestra-too", "-n", "loose"]);
  });

  it("4. re-applying a Deployment changes nothing: same pods, same ReplicaSet, one sidecar each", async () => {
    const apps = cluster.client(AppsV1Api);
    const before = await podsOf("kestra", DEPLOYMENT_PODS);
    const generation = (await apps.readNamespacedDeployment({ namespace: "kestra", name: "kestra-mcp" })).metadata
      ?.generation;
    const { stdout } = await apply(serverDeployment("kestra-mcp", "kestra", 2, KESTRA));
    assert.match(
      stdout,
      /deployment\.apps\/kestra-mcp unchanged/,
      "injection changed pods, never the Deployment the user applies",
    );
    assert.equal(
      (await apps.readNamespacedDeployment({ namespace: "kestra", name: "kestra-mcp" })).metadata?.generation,
      generation,
    );
    const replicaSets = (await apps.listNamespacedReplicaSet({ namespace: "kestra" })).items.filter((rs) =>
      rs.metadata?.ownerReferences?.some((o) => o.name === "kestra-mcp"),
    );
    assert.equal(replicaSets.length, 1, "no new rollout");
    const after = await podsOf("kestra", DEPLOYMENT_PODS);
    assert.deepEqual(after.map((p) => p.metadata?.uid).sort(), before.map((p) => p.metadata?.uid).sort());
    for (const pod of after) assert.equal(sidecars(pod).length, 1);
  });

  it("4. a reinvocation after another webhook's change does not inject again", async () => {
    let labeller: LabellingWebhook | undefined;
    try {
      const certificate = await cluster.issueServingCertificate("labeller");
      labeller = await startLabellingWebhook(certificate, { key: "example.com/labelled", value: "true" });
      // Named after mcp-warden's configuration, so the API server calls it second; its change makes
      // the API server call mcp-warden again (reinvocationPolicy: IfNeeded).
      await cluster.registerMutatingWebhook({
        name: "zz-labeller",
        url: labeller.url,
        caPem: certificate.caPem,
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kestra" } },
      });
      await eventually(async () => {
        const dryRun = await core.createNamespacedPod({
          namespace: "kestra",
          body: serverPod("probe", { labels: { app: "probe" } }),
          dryRun: "All",
        });
        assert.equal(dryRun.metadata?.labels?.["example.com/labelled"], "true");
      });
      const reinvoked =
        (await operator.metric("mcp_warden_injections_total", { result: "skipped", reason: "already_injected" })) ?? 0;
      const pod = await create("kestra", serverPod("reinvoked", KESTRA));
      assert.equal(pod.metadata?.labels?.["example.com/labelled"], "true", "the second webhook changed the pod");
      assert.equal(sidecars(pod).length, 1);
      assert.equal(pod.spec?.volumes?.filter((v) => v.name === TOKEN_VOLUME).length, 1);
      assert.equal(
        await operator.metric("mcp_warden_injections_total", { result: "skipped", reason: "already_injected" }),
        reinvoked + 1,
        "mcp-warden was called again and left the pod alone",
      );
    } finally {
      await cluster.kubectl(["delete", "mutatingwebhookconfiguration", "zz-labeller", "--ignore-not-found"]);
      await labeller?.close();
    }
  });

  it("4. a pod created from an injected pod's own YAML keeps its one sidecar", async () => {
    const [original] = await podsOf("kestra", DEPLOYMENT_PODS);
    assert.ok(original);
    const { stdout } = await cluster.kubectl([
      "get",
      "pod",
      original.metadata?.name as string,
      "-n",
      "kestra",
      "-o",
      "json",
    ]);
    const copy = JSON.parse(stdout) as V1Pod;
    const labels = { ...copy.metadata?.labels };
    delete labels["pod-template-hash"]; // so the ReplicaSet does not adopt it
    copy.metadata = { name: "copied", labels, annotations: copy.metadata?.annotations };
    delete copy.status;
    const stored = await create("kestra", copy);
    assert.equal(sidecars(stored).length, 1);
    assert.deepEqual(sidecars(stored)[0], sidecars(original)[0]);
    assert.deepEqual(
      stored.spec?.containers.find((c) => c.name === "kestra")?.command,
      original.spec?.containers.find((c) => c.name === "kestra")?.command,
    );
    assert.equal(
      stored.metadata?.annotations?.[STATUS_ANNOTATION],
      original.metadata?.annotations?.[STATUS_ANNOTATION],
    );
  });
});

function minorVersion(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}

function envOf(container: V1Container): Record<string, string | undefined> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
}
