// `kubectl mcp-warden status` with the real kubectl finding the plugin on PATH, against a real API
// server where the operator writes the policies' status: the current context and its namespace,
// --kubeconfig, --context, -n, -A, the three output formats, and the pods to restart with their fix.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { startOperatorCluster, type OperatorCluster } from "../support/operator-cluster.ts";
import { freePort } from "../support/ports.ts";
import { eventually } from "../support/eventually.ts";

const policy = (name: string, namespace: string, spec: Record<string, unknown>) =>
  stringify({ apiVersion: "mcpwarden.io/v1alpha1", kind: "McpPolicy", metadata: { name, namespace }, spec });
const KESTRA = {
  podSelector: { matchLabels: { app: "kestra" } },
  upstream: { path: "/mcp", profile: "kestra" },
  default: "deny",
  tools: [{ name: "list_*", action: "allow" }],
};
const kestraPod = (name: string): V1Pod => ({
  metadata: { name, labels: { app: "kestra" } },
  spec: {
    containers: [
      {
        name: "kestra-mcp",
        image: "ghcr.io/kestra-io/mcp-server-python:latest",
        ports: [{ name: "mcp", containerPort: 8000 }],
      },
    ],
  },
});
const deployment = stringify({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "kestra-mcp", namespace: "agents" },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "kestra" } },
    template: { metadata: { labels: { app: "kestra" } }, spec: kestraPod("x").spec },
  },
});

interface StatusJson {
  policies: {
    namespace: string;
    name: string;
    ready: { status: string; reason: string; message: string };
    selectedPods: number;
    enforcedPods: number;
    unguardedPods: { name: string; fix: string }[];
  }[];
}

describe("kubectl mcp-warden status", { timeout: 240_000 }, () => {
  let oc: OperatorCluster;
  let unguarded: string[];
  const kubectl = async (args: string, env: NodeJS.ProcessEnv = {}) => {
    const result = await oc.sh(`kubectl ${args}`, { env });
    return result;
  };
  const ok = async (args: string, env: NodeJS.ProcessEnv = {}) => {
    const result = await kubectl(args, env);
    assert.equal(result.code, 0, `kubectl ${args}: ${result.stderr}`);
    return result.stdout;
  };

  before(async () => {
    oc = await startOperatorCluster("kubectl-plugin");
    const { cluster } = oc;
    for (const ns of ["agents", "team-b"])
      await cluster.createNamespace(ns, { labels: { "mcpwarden.io/injection": "enabled" } });
    await cluster.createNamespace("plain");
    // Pods that exist before the policy: the operator reports them as running without the sidecar.
    await cluster.kubectl(["apply", "-f", "-"], { input: deployment });
    const core = cluster.client(CoreV1Api);
    await eventually(
      async () => assert.equal((await core.listNamespacedPod({ namespace: "agents" })).items.length, 2),
      { timeoutMs: 30_000 },
    );
    await cluster.kubectl(["apply", "-f", "-"], { input: policy("kestra", "agents", KESTRA) });
    await eventually(() => assert.ok(oc.operator.index.get("agents", "kestra")));
    await core.createNamespacedPod({ namespace: "agents", body: kestraPod("kestra-direct") });
    await cluster.kubectl(["apply", "-f", "-"], {
      input: policy("broken", "team-b", {
        podSelector: { matchLabels: { app: "x" } },
        tools: [{ name: "run", require: ["args.namespace.startsWith("] }],
      }),
    });
    await cluster.kubectl(["apply", "-f", "-"], {
      input: policy("unlabelled", "plain", { podSelector: { matchLabels: { app: "x" } } }),
    });
    unguarded = (await core.listNamespacedPod({ namespace: "agents" })).items
      .filter((p) => !p.spec?.initContainers?.length)
      .map((p) => p.metadata?.name as string)
      .sort();
    assert.equal(unguarded.length, 2);
    await eventually(
      async () => {
        const out = await ok("get mcpp -A -o yaml");
        const items = (
          parse(out) as {
            items: {
              metadata: { name: string };
              status?: {
                selectedPods?: number;
                enforcedPods?: number;
                conditions?: { type: string; reason: string }[];
              };
            }[];
          }
        ).items;
        const kestra = items.find((i) => i.metadata.name === "kestra");
        assert.deepEqual([kestra?.status?.selectedPods, kestra?.status?.enforcedPods], [3, 1]);
        assert.equal(items.filter((i) => i.status?.conditions?.some((c) => c.type === "Ready")).length, 3);
      },
      { timeoutMs: 30_000 },
    );
    // A kubeconfig with two more contexts, as users have: one per team namespace.
    await ok('config view --raw > "$HOME/config"');
    await ok(
      'config --kubeconfig "$HOME/config" set-context agents --cluster=mcp-warden-test --user=admin --namespace=agents',
    );
    await ok(
      'config --kubeconfig "$HOME/config" set-context team-b --cluster=mcp-warden-test --user=admin --namespace=team-b',
    );
    await ok('config --kubeconfig "$HOME/config" use-context agents');
  });
  after(async () => {
    await oc?.stop();
  });

  it("is found by kubectl on PATH", async () => {
    const listed = await kubectl("plugin list");
    assert.match(listed.stdout, /\/kubectl-mcp_warden$/m);
    assert.doesNotMatch(listed.stderr, /warning.*kubectl-mcp_warden/i);
  });

  it("prints each policy of the namespace with Ready, the counts, and the pods to restart with their fix", async () => {
    const out = await ok("mcp-warden status -n agents");
    const lines = out.split("\n");
    assert.match(lines[0] ?? "", /^NAME +MODE +DEFAULT +READY +REASON +SELECTED +ENFORCED +AGE$/);
    assert.match(lines[1] ?? "", /^kestra +Enforce +deny +True +Accepted +3 +1 +\d\S*$/);
    assert.equal(lines[3], "kestra: 2 of 3 selected pods run without the sidecar; the fix:");
    assert.deepEqual(
      lines.slice(4, 6).map((l) => l.trim().split(/ {3,}/)),
      unguarded.map((pod) => [pod, "kubectl rollout restart deployment/kestra-mcp -n agents"]),
    );
  });

  it("uses the current context's namespace, and --context and --kubeconfig as kubectl does", async () => {
    const inContext = await ok("mcp-warden status", { KUBECONFIG: `${oc.env.HOME}/config` });
    assert.match(inContext, /^kestra +Enforce/m);
    const teamB = await ok("mcp-warden status --context team-b", { KUBECONFIG: `${oc.env.HOME}/config` });
    assert.match(teamB, /^broken +Enforce +deny +False +InvalidRule /m);
    assert.match(teamB, /^broken: not ready \(InvalidRule\): spec\.tools\[0\]\.require\[0\]: /m);
    const flag = await ok(`mcp-warden status --kubeconfig ${oc.env.HOME}/config --context team-b`, { KUBECONFIG: "" });
    const withoutAge = (text: string) => text.replace(/^(broken .*?) +\S+$/m, "$1");
    assert.equal(withoutAge(flag), withoutAge(teamB));
  });

  it("lists every namespace with -A, and says what an unlabelled namespace needs", async () => {
    const out = await ok("mcp-warden status -A");
    assert.match(out, /^NAMESPACE +NAME +MODE /);
    assert.deepEqual(
      out
        .split("\n")
        .slice(1, 4)
        .map((l) => l.split(/ +/).slice(0, 2)),
      [
        ["agents", "kestra"],
        ["plain", "unlabelled"],
        ["team-b", "broken"],
      ],
    );
    assert.match(
      out,
      /^plain\/unlabelled: not ready \(InjectionDisabled\): .*kubectl label namespace plain mcpwarden\.io\/injection=enabled$/m,
    );
    assert.match(out, /^agents\/kestra: 2 of 3 selected pods run without the sidecar; the fix:$/m);
  });

  it("prints JSON and YAML for scripts, the same as `mcp-warden status` prints", async () => {
    const json = JSON.parse(await ok("mcp-warden status -n agents -o json")) as StatusJson;
    assert.deepEqual(
      json.policies.map((p) => [p.name, p.ready.status, p.selectedPods, p.enforcedPods]),
      [["kestra", "True", 3, 1]],
    );
    assert.deepEqual(
      json.policies[0]?.unguardedPods,
      unguarded.map((name) => ({ name, fix: "kubectl rollout restart deployment/kestra-mcp -n agents" })),
    );
    assert.deepEqual(parse(await ok("mcp-warden status -n agents -o yaml")), json);
    const direct = await oc.sh("mcp-warden status -n agents -o json");
    assert.equal(direct.code, 0, direct.stderr);
    assert.deepEqual(JSON.parse(direct.stdout), json);
  });

  it("fails clearly for an unknown policy, a user without access, and a cluster it cannot reach", async () => {
    const one = JSON.parse(await ok("mcp-warden status kestra -n agents -o json")) as StatusJson;
    assert.equal(one.policies.length, 1);
    const missing = await kubectl("mcp-warden status nope -n agents");
    assert.deepEqual(
      [missing.code, missing.stderr],
      [1, "kubectl mcp-warden status: McpPolicy nope not found in namespace agents\n"],
    );

    const jane = await oc.cluster.userCredentials("jane");
    const forbidden = await kubectl("mcp-warden status -n agents", { KUBECONFIG: jane.kubeconfigPath });
    assert.equal(forbidden.code, 1);
    assert.match(
      forbidden.stderr,
      /^kubectl mcp-warden status: not allowed to read McpPolicies in namespace agents: 403 Forbidden: .*"jane" cannot list resource "mcppolicies"/,
    );

    const closed = await freePort();
    await ok(`config --kubeconfig "$HOME/dead" set-cluster dead --server=https://127.0.0.1:${closed}`);
    await ok('config --kubeconfig "$HOME/dead" set-context dead --cluster=dead --user=nobody');
    const unreachable = await kubectl("mcp-warden status --context dead", { KUBECONFIG: `${oc.env.HOME}/dead` });
    assert.equal(unreachable.code, 1);
    assert.match(
      unreachable.stderr,
      new RegExp(
        `^kubectl mcp-warden status: cannot reach the API server at https://127\\.0\\.0\\.1:${closed}: fetch failed \\(connect ECONNREFUSED`,
      ),
    );

    const usage = await kubectl("mcp-warden status -n agents -o wide");
    assert.equal(usage.code, 2);
    assert.match(
      usage.stderr,
      /^kubectl mcp-warden: -o\/--output must be one of table, json, yaml\nusage: kubectl mcp-warden status /,
    );
    const empty = await kubectl("mcp-warden status -n default");
    assert.deepEqual([empty.code, empty.stdout, empty.stderr], [0, "", "No McpPolicies found in default namespace.\n"]);
  });
});
