// The sidecar's Kubernetes policy source against a real API server, authenticating as a pod would:
// in-cluster configuration from a projected service-account token, with only the Role the operator
// grants sidecars. Changes applied with kubectl arrive without a restart; API outages are reported
// while nothing is delivered; deletion and absence are reported, never silently ignored.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "../../kube/kubeconfig.ts";
import { MCP_POLICY_CRD_FILE } from "../../operator/crd/mcppolicy-crd.ts";
import { sidecarClusterRole, sidecarRoleBinding } from "../../operator/rbac/sidecar-rbac.ts";
import type { LoadedPolicy } from "../../policy/load.ts";
import type { PolicyError } from "../../policy/paths.ts";
import type { PolicySourceHandlers } from "../../sidecar/policy-source.ts";
import { KubernetesPolicySource, parsePolicyUrl } from "../../sidecar/policy-sources/kubernetes.ts";
import { startControlPlane, type ControlPlane } from "../cluster/harness.ts";
import { eventually } from "../support/eventually.ts";

const root = join(import.meta.dirname, "..", "..");
const fast = { backoff: { initialMs: 200, maxMs: 1_000 } };

class Recorder implements PolicySourceHandlers {
  policies: LoadedPolicy[] = [];
  invalids: PolicyError[] = [];
  troubles: Error[] = [];
  policy(loaded: LoadedPolicy) {
    this.policies.push(loaded);
  }
  invalid(error: PolicyError) {
    this.invalids.push(error);
  }
  trouble(error: Error) {
    this.troubles.push(error);
  }
}

const manifest = (name: string, spec: Record<string, unknown>, namespace = "agents") =>
  stringify({ apiVersion: "mcpwarden.io/v1alpha1", kind: "McpPolicy", metadata: { name, namespace }, spec });

describe("KubernetesPolicySource on a real API server", () => {
  let cluster: ControlPlane;
  let podKubeConfig: KubeConfig;
  const sources: KubernetesPolicySource[] = [];
  const source = (name: string, namespace = "agents") => {
    const s = new KubernetesPolicySource({ namespace, name, kubeConfig: podKubeConfig, informer: fast });
    sources.push(s);
    return s;
  };

  before(async () => {
    cluster = await startControlPlane({ name: "policy-source" });
    await cluster.kubectl(["apply", "--server-side", "-f", join(root, MCP_POLICY_CRD_FILE)]);
    await cluster.waitForCrds(["mcppolicies.mcpwarden.io"]);
    await cluster.createNamespace("agents");
    await cluster.createNamespace("elsewhere", { waitForDefaultServiceAccount: false });
    await cluster.kubectl(["apply", "-f", "-"], {
      input: [sidecarClusterRole(), sidecarRoleBinding("agents")].map((d) => stringify(d)).join("---\n"),
    });
    await cluster.kubectl(["apply", "-f", "-"], {
      input: manifest("kestra", { podSelector: { matchLabels: { app: "kestra" } }, tools: [{ name: "list_flows" }] }),
    });

    // What the injected projected volume gives the sidecar: token, cluster CA and namespace, read by
    // client-node's in-cluster configuration.
    const saDir = join(cluster.dir, "pod-root", "var", "run", "secrets", "kubernetes.io", "serviceaccount");
    await mkdir(saDir, { recursive: true });
    const { token } = await cluster.requestServiceAccountToken("agents", "default");
    await writeFile(join(saDir, "token"), token);
    await writeFile(join(saDir, "ca.crt"), cluster.caPem);
    await writeFile(join(saDir, "namespace"), "agents");
    const url = new URL(cluster.server);
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = url.hostname;
    process.env.KUBERNETES_SERVICE_PORT = url.port;
    try {
      podKubeConfig = loadKubeConfig({
        env: { KUBERNETES_SERVICE_HOST: url.hostname },
        serviceAccountRoot: join(cluster.dir, "pod-root"),
      });
    } finally {
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      else process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      else process.env.KUBERNETES_SERVICE_PORT = saved.port;
    }
    const provider = podKubeConfig.getCurrentUser()?.authProvider as { name?: string } | undefined;
    assert.equal(provider?.name, "tokenFile", "in-cluster config reads the projected token file");
  });
  after(async () => {
    await Promise.all(sources.map((s) => s.stop()));
    await cluster?.stop();
  });

  it("parses k8s:// references and explains bad ones", () => {
    assert.deepEqual(parsePolicyUrl("k8s://agents/kestra"), { namespace: "agents", name: "kestra" });
    for (const bad of ["k8s://agents", "file://x", "k8s://Agents/x", "k8s://a/b/c", "k8s:///x"]) {
      assert.throws(() => parsePolicyUrl(bad), /expected k8s:\/\/<namespace>\/<name>/, bad);
    }
  });

  it("delivers the policy, then each change applied with kubectl, but not status-only updates", async () => {
    const handlers = new Recorder();
    const s = source("kestra");
    await s.start(handlers);
    assert.equal(s.description, "McpPolicy agents/kestra");
    await eventually(() => assert.equal(handlers.policies.length, 1));
    const first = handlers.policies[0] as LoadedPolicy;
    assert.equal(first.name, "agents/kestra");
    assert.equal(first.generation, 1);
    assert.deepEqual(
      first.spec.tools?.map((t) => t.name),
      ["list_flows"],
    );

    await cluster.kubectl(["apply", "-f", "-"], {
      input: manifest("kestra", {
        podSelector: { matchLabels: { app: "kestra" } },
        default: "allow",
        tools: [{ name: "list_flows" }, { name: "force_*", action: "deny" }],
      }),
    });
    await eventually(() => assert.equal(handlers.policies.length, 2));
    assert.equal(handlers.policies[1]?.generation, 2);
    assert.equal(handlers.policies[1]?.spec.default, "allow");

    await cluster.kubectl([
      "patch",
      "mcpp",
      "kestra",
      "-n",
      "agents",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { selectedPods: 1 } }),
    ]);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(handlers.policies.length, 2, "a status update is not a new policy");
    assert.deepEqual([handlers.invalids.length, handlers.troubles.length], [0, 0]);
  });

  it("reports a deleted policy as invalid (the consumer keeps the last one) and delivers it again when recreated", async () => {
    await cluster.kubectl(["apply", "-f", "-"], {
      input: manifest("temporary", { podSelector: { matchLabels: { app: "t" } } }),
    });
    const handlers = new Recorder();
    await source("temporary").start(handlers);
    await eventually(() => assert.equal(handlers.policies.length, 1));
    await cluster.kubectl(["delete", "mcpp", "temporary", "-n", "agents"]);
    await eventually(() => assert.equal(handlers.invalids.length, 1));
    assert.match(handlers.invalids[0]?.message ?? "", /McpPolicy agents\/temporary was deleted/);
    await cluster.kubectl(["apply", "-f", "-"], {
      input: manifest("temporary", { podSelector: { matchLabels: { app: "t" } }, mode: "Audit" }),
    });
    await eventually(() => assert.equal(handlers.policies.length, 2));
    assert.equal(handlers.policies[1]?.spec.mode, "Audit");
  });

  it("says when the policy does not exist yet, and delivers it once created", async () => {
    const handlers = new Recorder();
    await source("later").start(handlers);
    assert.match(handlers.troubles[0]?.message ?? "", /McpPolicy agents\/later does not exist/);
    assert.equal(handlers.policies.length, 0);
    await cluster.kubectl(["apply", "-f", "-"], { input: manifest("later", {}) });
    await eventually(() => assert.equal(handlers.policies.length, 1));
  });

  it("cannot read policies of other namespaces (the sidecar Role is namespaced)", async () => {
    await cluster.kubectl(["apply", "-f", "-"], { input: manifest("other", {}, "elsewhere") });
    const handlers = new Recorder();
    await source("other", "elsewhere").start(handlers);
    assert.match(handlers.troubles[0]?.message ?? "", /403/);
    assert.equal(handlers.policies.length, 0);
  });

  it("reports an API outage, delivers nothing meanwhile, and catches up afterwards", async () => {
    const handlers = new Recorder();
    await source("kestra").start(handlers);
    await eventually(() => assert.equal(handlers.policies.length, 1));
    await cluster.stopApiServer();
    await eventually(() => assert.ok(handlers.troubles.length > 0), { timeoutMs: 20_000 });
    assert.match(handlers.troubles[0]?.message ?? "", /cannot read McpPolicy agents\/kestra from the Kubernetes API/);
    assert.deepEqual(
      [handlers.policies.length, handlers.invalids.length],
      [1, 0],
      "nothing delivered while the API is away",
    );
    await cluster.startApiServer();
    await cluster.kubectl(["apply", "-f", "-"], {
      input: manifest("kestra", { podSelector: { matchLabels: { app: "kestra" } }, mode: "Audit" }),
    });
    await eventually(() => assert.equal(handlers.policies.at(-1)?.spec.mode, "Audit"), { timeoutMs: 60_000 });
  });
});
