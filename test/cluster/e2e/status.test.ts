// End-to-end, scenarios 1 and 9, as `kubectl` shows them to a user:
//   1. The CRD and valid McpPolicies (the shipped example, what `mcp-warden policy init` and
//      `policy import` write) become Ready=True with observedGeneration; what the schema can check is
//      refused by the API server, naming the field; what only the engine can check is reported
//      Ready=False with the field path, and clears when fixed.
//   9. Pods created before their policy are listed as un-enforced with the command that fixes them;
//      running that command (a rollout restart) clears them.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { MCP_POLICY_PLURAL } from "../../../operator/crd/mcppolicy-crd.ts";
import { SIDECAR_CONTAINER } from "../../../operator/names.ts";
import { API_GROUP, API_VERSION, type McpPolicyStatusType } from "../../../policy/schema.ts";
import { runPeer } from "../../support/processes.ts";
import { KubectlError, startControlPlane, type ControlPlane } from "../harness.ts";
import { applyWebhookConfiguration, installMcpWarden, REPOSITORY_ROOT } from "../install.ts";
import { MCP_WARDEN_CLI, startOperatorProcess, type OperatorProcess } from "../operator-process.ts";
import { mcpPolicy, serverDeployment, yaml } from "./manifests.ts";
import { eventually } from "../../support/eventually.ts";

const INJECTION = { "mcpwarden.io/injection": "enabled" };

describe("e2e: McpPolicy status as kubectl shows it", () => {
  let cluster: ControlPlane;
  let operator: OperatorProcess;
  let core: CoreV1Api;
  const apply = (manifest: string, namespace = "agents") =>
    cluster.kubectl(["apply", "-n", namespace, "-f", "-"], { input: manifest });
  const stored = async (namespace: string, name: string) =>
    (await cluster.client(CustomObjectsApi).getNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace,
      plural: MCP_POLICY_PLURAL,
      name,
    })) as {
      metadata: { generation: number };
      status?: McpPolicyStatusType;
    };
  const condition = async (namespace: string, name: string, type: string) => {
    const policy = await stored(namespace, name);
    return {
      generation: policy.metadata.generation,
      status: policy.status,
      condition: policy.status?.conditions?.find((c) => c.type === type),
    };
  };
  const cli = async (...args: string[]) => {
    const run = await runPeer(process.execPath, [MCP_WARDEN_CLI, ...args]);
    assert.equal(run.code, 0, run.stderr);
    return run.stdout;
  };
  const rejected = async (manifest: string): Promise<string> => {
    const error = await apply(manifest).then(
      () => assert.fail("the API server accepted an invalid McpPolicy"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof KubectlError);
    return error.stderr;
  };

  let written: Promise<string[]>;

  before(async () => {
    // What `mcp-warden policy init` and `policy import` write, made while the control plane starts.
    written = Promise.all([
      ...["strict", "balanced", "read-only"].map((level) =>
        cli("policy", "init", "--server", "kestra", "--level", level, "--name", `kestra-${level}`),
      ),
      cli(
        "policy",
        "import",
        join(REPOSITORY_ROOT, "examples", "kestra-restart.policylayer.json"),
        "--name",
        "kestra-restart",
      ),
    ]);
    written.catch(() => undefined); // awaited by the test; a failure is reported there
    cluster = await startControlPlane({ name: "e2e-status" });
    core = cluster.client(CoreV1Api);
    const { names, operatorCredentials } = await installMcpWarden(cluster);
    await cluster.createNamespace("agents", { labels: INJECTION });
    await cluster.createNamespace("legacy", { labels: INJECTION });
    operator = await startOperatorProcess(cluster, {
      identity: "mcp-warden-operator-0",
      namespace: names.namespace,
      kubeconfigPath: operatorCredentials.kubeconfigPath,
    });
    await applyWebhookConfiguration(cluster, names, operator.webhookUrl);
  });
  after(async () => {
    await operator?.stop();
    await cluster?.stop();
  });

  it("1. valid McpPolicies — the shipped example, policy init at every level, policy import — become Ready with observedGeneration", async () => {
    await apply((await written).join("---\n"));
    await cluster.kubectl(["apply", "-f", join(REPOSITORY_ROOT, "examples", "kestra-resume-hide.mcppolicy.yaml")]);
    const names = ["kestra-strict", "kestra-balanced", "kestra-read-only", "kestra-restart", "kestra"];

    await cluster.kubectl(["wait", "--for=condition=Ready", "mcpp", ...names, "-n", "agents", "--timeout=60s"]);
    for (const name of names) {
      const { generation, status, condition: ready } = await condition("agents", name, "Ready");
      assert.deepEqual(
        [ready?.status, ready?.reason, ready?.observedGeneration, status?.observedGeneration],
        ["True", "Accepted", generation, generation],
        name,
      );
    }
    const { stdout } = await cluster.kubectl(["get", "mcpp", "-n", "agents", "--no-headers"]);
    assert.equal(
      stdout
        .trim()
        .split("\n")
        .filter((line) => /^\S+\s+Enforce\s+deny\s+True\s+0\s+0\s+/.test(line)).length,
      names.length,
      stdout,
    );

    // A change is a new generation, and Ready says which one it describes.
    await apply(
      yaml(
        mcpPolicy("kestra-restart", "agents", {
          tools: [{ name: "restart_execution", limits: [{ counter: "restart", window: "minute", max: 5 }] }],
        }),
      ),
    );
    await eventually(async () => {
      const { generation, condition: ready } = await condition("agents", "kestra-restart", "Ready");
      assert.equal(generation, 2);
      assert.deepEqual([ready?.status, ready?.observedGeneration], ["True", 2]);
    });
  });

  it("1. what the schema can check is refused by the API server, naming the field", async () => {
    assert.match(
      await rejected(yaml(mcpPolicy("typo", "agents", { tools: [{ name: "x", action: "permit" as "allow" }] }))),
      /spec\.tools\[0\]\.action: Unsupported value: "permit"/,
    );
    assert.match(
      await rejected(
        yaml(mcpPolicy("useless", "agents", { tools: [{ name: "x", action: "deny", require: ["true"] }] })),
      ),
      /spec\.tools\[0\]\.require: Forbidden: require has no effect on a rule whose action is deny/,
    );
    assert.match(
      await rejected(yaml({ ...mcpPolicy("unknown", "agents", {}), spec: { podSelecter: {} } })),
      /unknown field "spec\.podSelecter"/,
    );
    const { stdout } = await cluster.kubectl(["get", "mcpp", "-n", "agents", "-o", "name"]);
    assert.doesNotMatch(stdout, /typo|useless|unknown/, "nothing was stored");
  });

  it("1. what only the engine can check is Ready=False with the field paths, and Ready again once fixed", async () => {
    const broken = mcpPolicy("broken", "agents", {
      hide: ["manage_kv_store"],
      tools: [
        { name: "manage_kv_store", action: "allow" },
        { name: "list_executions", require: ["args.namespace.startsWith("] },
      ],
    });
    await apply(yaml(broken));
    await cluster.kubectl(["wait", "--for=condition=Ready=False", "mcpp/broken", "-n", "agents", "--timeout=60s"]);
    const { condition: ready } = await condition("agents", "broken", "Ready");
    assert.equal(ready?.reason, "InvalidRule");
    assert.equal(ready?.observedGeneration, 1);
    assert.match(ready?.message ?? "", /spec\.tools\[0\]\.name: "manage_kv_store" is hidden by hide/);
    assert.match(ready?.message ?? "", /spec\.tools\[1\]\.require\[0\]: /);
    const events = await core.listNamespacedEvent({
      namespace: "agents",
      fieldSelector: "involvedObject.name=broken,reason=InvalidRule",
    });
    assert.equal(events.items[0]?.type, "Warning");

    await apply(
      yaml(
        mcpPolicy("broken", "agents", {
          hide: ["manage_kv_store"],
          tools: [{ name: "list_executions", require: ["args.namespace.startsWith('dev.')"] }],
        }),
      ),
    );
    await cluster.kubectl(["wait", "--for=condition=Ready", "mcpp/broken", "-n", "agents", "--timeout=60s"]);
    assert.equal((await condition("agents", "broken", "Ready")).condition?.observedGeneration, 2);
  });

  it("9. lists pods created before their policy as un-enforced with the fix, and a rollout restart clears them", async () => {
    const labels = { app: "kestra-mcp" };
    await cluster.kubectl(["apply", "-f", "-"], {
      input: yaml(serverDeployment("kestra-mcp", "legacy", 2, { labels })),
    });
    const early = await eventually(async () => {
      const pods = (await core.listNamespacedPod({ namespace: "legacy", labelSelector: "app=kestra-mcp" })).items;
      assert.equal(pods.length, 2);
      return pods.map((p) => p.metadata?.name as string).sort();
    });
    await apply(
      yaml(mcpPolicy("kestra", "legacy", { podSelector: { matchLabels: labels }, upstream: { profile: "kestra" } })),
      "legacy",
    );
    const message = await eventually(async () => {
      const { status, condition: pods } = await condition("legacy", "kestra", "PodsEnforced");
      assert.deepEqual([status?.selectedPods, status?.enforcedPods, status?.unguardedPods], [2, 0, early]);
      assert.deepEqual([pods?.status, pods?.reason], ["False", "PodsWithoutSidecar"]);
      return pods?.message ?? "";
    });
    const fix = /kubectl (rollout restart deployment\/kestra-mcp -n legacy)/.exec(message);
    assert.ok(fix?.[1], message);
    await eventually(async () => {
      const events = await core.listNamespacedEvent({ namespace: "legacy", fieldSelector: "reason=NotInjected" });
      assert.deepEqual([...new Set(events.items.map((e) => e.involvedObject.name))].sort(), early);
    });

    await cluster.kubectl(fix[1].split(" "));
    await eventually(
      async () => {
        const { status, condition: pods } = await condition("legacy", "kestra", "PodsEnforced");
        assert.deepEqual([status?.selectedPods, status?.enforcedPods, status?.unguardedPods], [2, 2, []]);
        assert.deepEqual([pods?.status, pods?.reason], ["True", "AllPodsEnforced"]);
      },
      { timeoutMs: 60_000 },
    );
    const pods = (await core.listNamespacedPod({ namespace: "legacy", labelSelector: "app=kestra-mcp" })).items;
    assert.equal(pods.length, 2);
    for (const pod of pods) {
      assert.ok(!early.includes(pod.metadata?.name as string), "new pods replaced the old ones");
      assert.ok(pod.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER));
    }
    const { stdout } = await cluster.kubectl(["get", "mcpp", "kestra", "-n", "legacy", "--no-headers"]);
    assert.match(stdout, /^kestra\s+Enforce\s+deny\s+True\s+2\s+2\s+/);
  });
});
