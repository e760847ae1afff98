// The sidecar's environment contract, end to end: every sidecar container in the injector's golden
// files (what the operator writes into pods) parses with the sidecar's own configuration parser, and
// yields the policy, upstream, listen addresses and mounted files the injection decided.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { parseAllDocuments, parse } from "yaml";
import { injectorConfig } from "../../operator/injector/config.ts";
import { decideInjection } from "../../operator/injector/injector.ts";
import { SIDECAR_CONTAINER, STATUS_ANNOTATION } from "../../operator/names.ts";
import { PolicyIndex, policyEntry, type McpPolicyObject } from "../../operator/policy-index.ts";
import { SIDECAR_ENV } from "../../program/sidecar-environment.ts";
import { parseSidecarConfig } from "../../sidecar/config.ts";
import { parsePolicyUrl } from "../../sidecar/policy-sources/kubernetes.ts";

const testdata = join(import.meta.dirname, "..", "..", "operator", "injector", "testdata");
/** What the kubelet adds to every container of a pod, which the sidecar reads for the API server. */
const KUBELET_ENV = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };

interface InjectedStatus {
  policy: string;
  port: { number: number };
  upstreamPort: number;
  adminPort: number;
}

interface Golden {
  file: string;
  pod: V1Pod;
  sidecar: V1Container;
}

function goldenSidecars(): Golden[] {
  const goldens: Golden[] = [];
  for (const file of readdirSync(testdata)
    .filter((f) => f.endsWith(".yaml.golden"))
    .sort()) {
    const pod = parse(readFileSync(join(testdata, file), "utf8")) as V1Pod | null;
    const sidecar = pod?.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER);
    if (pod && sidecar) goldens.push({ file, pod, sidecar });
  }
  return goldens;
}

/** The container's environment as the kubelet gives it; Secret references stand for their value. */
function environment(container: V1Container): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...KUBELET_ENV };
  for (const variable of container.env ?? [])
    env[variable.name] =
      variable.value ?? `<${variable.valueFrom?.secretKeyRef?.name}/${variable.valueFrom?.secretKeyRef?.key}>`;
  return env;
}

function mounted(container: V1Container, file: string | undefined): boolean {
  return file !== undefined && (container.volumeMounts ?? []).some((m) => file.startsWith(`${m.mountPath}/`));
}

function policiesOf(caseFile: string): PolicyIndex {
  const index = new PolicyIndex();
  for (const doc of parseAllDocuments(readFileSync(join(testdata, caseFile), "utf8")).map(
    (d) => d.toJS() as McpPolicyObject & { kind?: string },
  )) {
    if (doc.kind === "McpPolicy") index.set(policyEntry(doc));
  }
  return index;
}

describe("the sidecar's environment contract", () => {
  const goldens = goldenSidecars();

  it("covers every golden file with a sidecar", () => {
    assert.ok(goldens.length >= 9, `${goldens.length} golden sidecars`);
  });

  for (const { file, pod, sidecar } of goldens) {
    it(`${file}: the sidecar's parser reads what the injector wrote`, () => {
      const names = new Set<string>(Object.values(SIDECAR_ENV));
      for (const variable of sidecar.env ?? [])
        assert.ok(names.has(variable.name), `${variable.name} is part of the contract`);
      assert.deepEqual(sidecar.args, ["sidecar"]);
      const config = parseSidecarConfig((sidecar.args ?? []).slice(1), environment(sidecar));

      const status = JSON.parse(pod.metadata?.annotations?.[STATUS_ANNOTATION] ?? "null") as InjectedStatus | null;
      assert.ok(status, "the injected pod records what was injected");
      const namespace = pod.metadata?.namespace as string;
      assert.deepEqual(parsePolicyUrl(config.policy), { namespace, name: status.policy });
      const entry = policiesOf(file.replace(/\.golden$/, "")).get(namespace, status.policy);
      assert.equal(
        config.upstream.href,
        `http://127.0.0.1:${status.upstreamPort}${entry?.injection.upstreamPath ?? "/mcp"}`,
      );
      assert.deepEqual(config.listen, { host: "0.0.0.0", port: status.port.number });
      assert.deepEqual(config.adminListen, { host: "0.0.0.0", port: status.adminPort });
      assert.ok(
        sidecar.ports?.some((p) => p.containerPort === config.listen.port),
        "the sidecar's port is declared",
      );
      // Files the sidecar reads lie on volumes mounted into it.
      if (config.apiKeysFile !== undefined) assert.ok(mounted(sidecar, config.apiKeysFile), config.apiKeysFile);
      if (config.approvalStateKeyFile !== undefined)
        assert.ok(mounted(sidecar, config.approvalStateKeyFile), config.approvalStateKeyFile);
      assert.ok(mounted(sidecar, config.kubernetesApi?.tokenFile), "the service-account token is mounted");
      assert.ok(mounted(sidecar, config.kubernetesApi?.caFile), "the API server's CA is mounted");
      assert.equal(config.tracing, "off");
    });
  }

  it("an operator that names a collector turns the sidecar's tracing on", () => {
    const index = policiesOf("plain.yaml");
    const pod = parseAllDocuments(readFileSync(join(testdata, "plain.yaml"), "utf8"))
      .map((d) => d.toJS() as V1Pod)
      .find((d) => d.kind === "Pod") as V1Pod;
    const config = injectorConfig({
      sidecarImage: "ghcr.io/mcp-warden/mcp-warden:0.1.0",
      operatorNamespace: "mcp-warden",
      otlpEndpoint: "http://collector.observability:4318",
    });
    const outcome = decideInjection(structuredClone(pod), pod.metadata?.namespace ?? "default", index, config);
    const sidecar = outcome.pod?.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER) as V1Container;
    const env = environment(sidecar);
    assert.equal(parseSidecarConfig([], env).tracing, "otlp");
    assert.equal(env[SIDECAR_ENV.otlpEndpoint], "http://collector.observability:4318");
  });
});
