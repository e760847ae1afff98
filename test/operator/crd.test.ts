// The generated McpPolicy CRD on a real kube-apiserver: it is accepted as a structural schema with
// its CEL rules, defaults are applied, what the schema can check is rejected at apply time with
// the field named, and kubectl shows the printer columns, short name and category.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { MCP_POLICY_CRD_FILE, MCP_POLICY_CRD_NAME } from "../../operator/crd/mcppolicy-crd.ts";
import { KubectlError, startControlPlane, type ControlPlane } from "../cluster/harness.ts";

const root = join(import.meta.dirname, "..", "..");

function policy(name: string, spec: Record<string, unknown>): string {
  return stringify({
    apiVersion: "mcpwarden.io/v1alpha1",
    kind: "McpPolicy",
    metadata: { name, namespace: "agents" },
    spec,
  });
}

describe("McpPolicy CRD on a real API server", () => {
  let cluster: ControlPlane;
  const apply = (manifest: string) => cluster.kubectl(["apply", "-f", "-"], { input: manifest });
  const rejection = async (manifest: string): Promise<string> => {
    try {
      await apply(manifest);
    } catch (error) {
      if (error instanceof KubectlError) return error.stderr;
      throw error;
    }
    assert.fail("the API server accepted an invalid McpPolicy");
  };

  before(async () => {
    cluster = await startControlPlane({ name: "crd" });
    await cluster.kubectl(["apply", "--server-side", "-f", join(root, MCP_POLICY_CRD_FILE)]);
    await cluster.waitForCrds([MCP_POLICY_CRD_NAME]);
    await cluster.createNamespace("agents", { waitForDefaultServiceAccount: false });
  });
  after(() => cluster?.stop());

  it("is accepted as structural, with no API server warnings about the schema", async () => {
    const { stdout } = await cluster.kubectl([
      "get",
      "crd",
      MCP_POLICY_CRD_NAME,
      "-o",
      "jsonpath={.status.conditions}",
    ]);
    const conditions = JSON.parse(stdout) as Array<{ type: string; status: string; message: string }>;
    assert.equal(
      conditions.find((c) => c.type === "NonStructuralSchema"),
      undefined,
      stdout,
    );
    assert.equal(conditions.find((c) => c.type === "Established")?.status, "True");
  });

  it("stores a valid policy with the schema's defaults applied", async () => {
    await apply(
      policy("kestra", {
        podSelector: { matchLabels: { app: "kestra-mcp" } },
        upstream: { profile: "kestra" },
        tools: [
          {
            name: "resume_execution",
            limits: [{ counter: "resume", window: "minute", max: 10 }],
            require: ["args.namespace.startsWith('dev.')"],
          },
          { name: "force_*", action: "deny", reason: "never" },
          { name: "restart_execution", action: "approve", approval: { timeout: "2m" } },
          { name: "manage_flow", arguments: { type: "object", properties: { action: { enum: ["get_yaml"] } } } },
        ],
      }),
    );
    const objects = cluster.client(CustomObjectsApi);
    const stored = (await objects.getNamespacedCustomObject({
      group: "mcpwarden.io",
      version: "v1alpha1",
      namespace: "agents",
      plural: "mcppolicies",
      name: "kestra",
    })) as {
      spec: {
        mode: string;
        default: string;
        upstream: { path: string };
        tools: Array<{ action: string; arguments?: unknown; limits?: Array<{ scope: string }> }>;
      };
    };
    assert.equal(stored.spec.mode, "Enforce");
    assert.equal(stored.spec.default, "deny");
    assert.equal(stored.spec.upstream.path, "/mcp");
    assert.equal(stored.spec.tools[0]?.action, "allow");
    assert.equal(stored.spec.tools[0]?.limits?.[0]?.scope, "grant");
    assert.deepEqual(
      stored.spec.tools[3]?.arguments,
      { type: "object", properties: { action: { enum: ["get_yaml"] } } },
      "free-form JSON Schema kept as written",
    );
  });

  it("rejects at apply time what the schema can check, naming the field", async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [
        "deny-with-require",
        { tools: [{ name: "x", action: "deny", require: ["true"] }] },
        /spec\.tools\[0\]\.require: Forbidden: require has no effect on a rule whose action is deny/,
      ],
      [
        "deny-with-limits",
        { tools: [{ name: "x", action: "deny", limits: [{ window: "minute", max: 1 }] }] },
        /spec\.tools\[0\]\.limits: Forbidden/,
      ],
      [
        "approval-without-approve",
        { tools: [{ name: "x", approval: { timeout: "1m" } }] },
        /spec\.tools\[0\]\.approval: Forbidden: approval only applies to a rule whose action is approve/,
      ],
      [
        "duplicate-tool",
        { tools: [{ name: "x" }, { name: "x", action: "deny" }] },
        /spec\.tools\[1\]: Duplicate value/,
      ],
      ["duplicate-hide", { hide: ["a", "a"] }, /spec\.hide\[1\]: Duplicate value/],
      [
        "bad-window",
        { tools: [{ name: "x", limits: [{ window: "fortnight", max: 1 }] }] },
        /spec\.tools\[0\]\.limits\[0\]\.window: Invalid value/,
      ],
      ["bad-mode", { mode: "Sometimes" }, /spec\.mode: Unsupported value: "Sometimes"/],
      [
        "selector-values",
        { podSelector: { matchExpressions: [{ key: "app", operator: "In" }] } },
        /spec\.podSelector\.matchExpressions\[0\]\.values: Invalid value.*values must be non-empty/,
      ],
      [
        "two-key-sources",
        { identity: { apiKeys: { secretRef: { name: "s", key: "k" }, file: "/x" } } },
        /spec\.identity\.apiKeys: Invalid value.*set exactly one of secretRef or file/,
      ],
      ["unknown-field", { podSelecter: {} }, /unknown field "spec\.podSelecter"/],
      [
        "bad-quantity",
        { sidecar: { resources: { limits: { memory: "lots" } } } },
        /spec\.sidecar\.resources\.limits\.memory: Invalid value/,
      ],
    ];
    for (const [name, spec, expected] of cases) {
      const stderr = await rejection(policy(name, spec));
      assert.match(stderr, expected, `${name}: ${stderr}`);
    }
  });

  it("shows Mode, Default, Ready, Selected, Enforced and Age, by short name and category", async () => {
    const objects = cluster.client(CustomObjectsApi);
    await objects.patchNamespacedCustomObjectStatus(
      {
        group: "mcpwarden.io",
        version: "v1alpha1",
        namespace: "agents",
        plural: "mcppolicies",
        name: "kestra",
        body: {
          status: {
            observedGeneration: 1,
            selectedPods: 3,
            enforcedPods: 2,
            unguardedPods: ["kestra-old"],
            conditions: [
              {
                type: "Ready",
                status: "True",
                reason: "Accepted",
                message: "ok",
                lastTransitionTime: "2026-01-01T00:00:00Z",
                observedGeneration: 1,
              },
            ],
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const { stdout } = await cluster.kubectl(["get", "mcpp", "-n", "agents"]);
    const [header, row] = stdout.trim().split("\n");
    assert.deepEqual(header?.split(/\s+/), ["NAME", "MODE", "DEFAULT", "READY", "SELECTED", "ENFORCED", "AGE"]);
    assert.match(row ?? "", /^kestra\s+Enforce\s+deny\s+True\s+3\s+2\s+\d+/);
    const wide = await cluster.kubectl(["get", "mcp-warden", "-n", "agents", "-o", "wide"]);
    assert.match(wide.stdout, /REASON/);
    assert.match(wide.stdout, /Accepted/);
  });

  it("keeps spec and status apart (status subresource)", async () => {
    const objects = cluster.client(CustomObjectsApi);
    await objects.patchNamespacedCustomObjectStatus(
      {
        group: "mcpwarden.io",
        version: "v1alpha1",
        namespace: "agents",
        plural: "mcppolicies",
        name: "kestra",
        body: { spec: { mode: "Audit" }, status: { selectedPods: 9 } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const stored = (await objects.getNamespacedCustomObject({
      group: "mcpwarden.io",
      version: "v1alpha1",
      namespace: "agents",
      plural: "mcppolicies",
      name: "kestra",
    })) as {
      spec: { mode: string };
      status: { selectedPods: number };
      metadata: { generation: number };
    };
    assert.equal(stored.spec.mode, "Enforce", "spec changes through /status are ignored");
    assert.equal(stored.status.selectedPods, 9);
    assert.equal(stored.metadata.generation, 1, "status updates do not bump the generation");
  });
});
