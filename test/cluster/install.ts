// Installs mcp-warden into a test control plane from the chart's own manifests: the CRDs from the
// chart's crds/, the operator's ServiceAccount and least-privilege RBAC as `helm template` renders them,
// and the MutatingWebhookConfiguration pointing at an operator running as a local process. The
// operator then runs with a kubeconfig for that ServiceAccount, so it has exactly the chart's rights.
// (test/chart installs the whole chart with `helm install`; this keeps the operator a local process.)
import { join } from "node:path";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { MCP_APPROVAL_CRD_NAME } from "../../operator/crd/mcpapproval-crd.ts";
import { MCP_POLICY_CRD_NAME } from "../../operator/crd/mcppolicy-crd.ts";
import { SIDECAR_CONTAINER } from "../../operator/names.ts";
import { DEFAULT_OPERATOR_NAMES, type OperatorRbacNames } from "../../operator/rbac/operator-rbac.ts";
import { CHART_DIR, renderChart } from "../chart/chart.ts";
import { renderWebhookConfiguration } from "../../operator/webhook/configuration.testing.ts";
import type { ControlPlane } from "./control-plane.ts";
import type { Credentials } from "./credentials.ts";
import { eventually } from "../support/eventually.ts";

export const REPOSITORY_ROOT = join(import.meta.dirname, "..", "..");

export interface McpWardenInstallation {
  names: OperatorRbacNames;
  /** A kubeconfig for the operator's ServiceAccount (bound to operator/rbac/ only). */
  operatorCredentials: Credentials;
}

export async function installMcpWarden(cluster: ControlPlane): Promise<McpWardenInstallation> {
  const names = DEFAULT_OPERATOR_NAMES;
  await cluster.kubectl(["apply", "--server-side", "-f", join(CHART_DIR, "crds/")]);
  await cluster.waitForCrds([MCP_POLICY_CRD_NAME, MCP_APPROVAL_CRD_NAME]);
  await cluster.createNamespace(names.namespace);
  const manifests = await renderChart({
    namespace: names.namespace,
    showOnly: ["templates/serviceaccount.yaml", "templates/rbac.yaml"],
  });
  await cluster.kubectl(["apply", "-f", "-"], { input: manifests.map((m) => stringify(m)).join("---\n") });
  const operatorCredentials = await cluster.serviceAccountCredentials(names.namespace, names.serviceAccount);
  return { names, operatorCredentials };
}

/**
 * Applies the injector's MutatingWebhookConfiguration (as the chart renders it) with the operator's
 * URL instead of its Service; the operator fills in the caBundle.
 */
export async function applyWebhookConfiguration(
  cluster: ControlPlane,
  names: OperatorRbacNames,
  url: string,
): Promise<void> {
  const configuration = renderWebhookConfiguration({
    name: names.webhookConfiguration,
    operatorNamespace: names.namespace,
    url,
  });
  await cluster.kubectl(["apply", "-f", "-"], { input: stringify(configuration) });
}

/**
 * Waits until the API server sends pods to the injector with a CA it trusts: a dry-run create of
 * `pod` (which a policy must select) comes back with the sidecar. The API server picks webhook
 * configurations and caBundle changes up through an informer, so this takes a moment.
 */
export async function waitForInjection(
  cluster: ControlPlane,
  namespace: string,
  pod: V1Pod,
  timeoutMs = 30_000,
): Promise<void> {
  const core = cluster.client(CoreV1Api);
  await eventually(
    async () => {
      const created = await core.createNamespacedPod({ namespace, body: pod, dryRun: "All" });
      if (!created.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER))
        throw new Error(
          `a dry-run create of ${pod.metadata?.name ?? pod.metadata?.generateName} in ${namespace} was not injected yet`,
        );
    },
    { timeoutMs },
  );
}
