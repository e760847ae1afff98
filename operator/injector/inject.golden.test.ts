// Golden-file tests in the manner of Istio's testdata/inject: each testdata/<case>.yaml holds the
// McpPolicies of a namespace and one Pod (or a Deployment, turned into the pod its ReplicaSet
// creates); testdata/<case>.yaml.golden holds the decision and the exact pod the API server would
// store after applying the webhook's JSON Patch, or the rejection message.
// UPDATE_GOLDEN=1 rewrites the golden files; the checked-in files are the assertions.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import { PolicyIndex, policyEntry } from "../policy-index.ts";
import { injectorConfig } from "./config.ts";
import { decideInjection, type InjectionOutcome } from "./injector.ts";
import { applyPatch } from "./patch.ts";

const dir = join(import.meta.dirname, "testdata");
const update = process.env.UPDATE_GOLDEN === "1";
const config = injectorConfig({ sidecarImage: "ghcr.io/mcp-warden/mcp-warden:0.1.0", operatorNamespace: "mcp-warden" });

interface Case {
  index: PolicyIndex;
  pod: V1Pod;
  namespace: string;
}

function loadCase(file: string): Case {
  const docs = parseAllDocuments(readFileSync(join(dir, file), "utf8")).map((d) => d.toJS() as Record<string, unknown>);
  const index = new PolicyIndex();
  let pod: V1Pod | undefined;
  for (const doc of docs) {
    if (doc.kind === "McpPolicy") index.set(policyEntry(doc));
    else if (doc.kind === "Pod") pod = doc;
    else if (doc.kind === "Deployment") pod = podFromDeployment(doc);
    else throw new Error(`${file}: unexpected kind ${String(doc.kind)}`);
  }
  if (!pod) throw new Error(`${file}: no Pod or Deployment`);
  return { index, pod, namespace: pod.metadata?.namespace ?? "default" };
}

/** The pod a Deployment's ReplicaSet creates: generateName, the template hash label, an owner. */
function podFromDeployment(deployment: Record<string, unknown>): V1Pod {
  const meta = deployment.metadata as { name: string; namespace: string };
  const template = (deployment.spec as { template: V1Pod }).template;
  const hash = "7d9f8b6c5d";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...template.metadata,
      generateName: `${meta.name}-${hash}-`,
      namespace: meta.namespace,
      labels: { ...template.metadata?.labels, "pod-template-hash": hash },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `${meta.name}-${hash}`,
          uid: "3f1c0d1e-8a7b-4c5d-9e0f-112233445566",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: template.spec,
  };
}

function render(outcome: InjectionOutcome, pod: V1Pod): string {
  const lines = [`# result: ${outcome.result} (${outcome.reason})`];
  if (outcome.result === "rejected") lines.push(`# message: ${outcome.message}`);
  for (const w of outcome.warnings) lines.push(`# warning: ${w}`);
  if (outcome.result === "rejected") return lines.join("\n") + "\n";
  return lines.join("\n") + "\n" + stringify(pod, { lineWidth: 0 });
}

const cases = readdirSync(dir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

describe("injection golden files", () => {
  it("has a case for plain, templated, already injected, Kestra, multi-container, hostNetwork, opted-out and two-policy pods", () => {
    for (const name of [
      "plain",
      "deployment-template",
      "already-injected",
      "kestra-image",
      "multi-container",
      "host-network",
      "opted-out",
      "two-policies",
    ]) {
      assert.ok(cases.includes(`${name}.yaml`), `testdata/${name}.yaml`);
    }
  });

  for (const file of cases) {
    it(file, () => {
      const { index, pod, namespace } = loadCase(file);
      const outcome = decideInjection(structuredClone(pod), namespace, index, config);
      // What the API server stores is the input with the patch applied, not our mutated copy.
      const stored = applyPatch(pod, outcome.patch);
      assert.deepEqual(stored, outcome.pod, "the patch turns the input into the injected pod");
      const actual = render(outcome, stored);
      const goldenFile = join(dir, `${file}.golden`);
      if (update) writeFileSync(goldenFile, actual);
      assert.equal(actual, readFileSync(goldenFile, "utf8"), `${file}.golden (UPDATE_GOLDEN=1 regenerates it)`);

      if (outcome.result === "injected") {
        // Reinvocation, or a pod created again from its own YAML: nothing changes the second time.
        const again = decideInjection(structuredClone(stored), namespace, index, config);
        assert.deepEqual(
          { result: again.result, reason: again.reason, patch: again.patch },
          { result: "skipped", reason: "already_injected", patch: [] },
        );
      } else {
        assert.deepEqual(outcome.patch, [], "pods that are not injected are not changed");
      }
    });
  }
});
