// Installs mcp-warden into a test control plane the way a user does without the chart: the CRD from
// crds/, the operator's namespace and ServiceAccount, the least-privilege RBAC from operator/rbac/,
// and the MutatingWebhookConfiguration pointing at an operator running as a local process. The
// operator then runs with a kubeconfig for that ServiceAccount, so it has exactly those rights.
import { join } from "node:path";
import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { MCP_POLICY_CRD_NAME } from "../../operator/crd/mcppolicy-crd.ts";
import { SIDECAR_CONTAINER } from "../../operator/names.ts";
import { DEFAULT_OPERATOR_NAMES, OPERATOR_RBAC_FILE, type OperatorRbacNames } from "../../operator/rbac/operator-rbac.ts";
import { renderWebhookConfiguration } from "../../operator/webhook/configuration.ts";
import type { ControlPlane } from "./control-plane.ts";
import type { Credentials } from "./credentials.ts";
import { eventually } from "./wait.ts";

export const REPOSITORY_ROOT = join(import.meta.dirname, "..", "..");

export interface McpWardenInstallation {
  names: OperatorRbacNames;
  /** A kubeconfig for the operator's ServiceAccount (bound to operator/rbac/ only). */
  operatorCredentials: Credentials;
}

export async function installMcpWarden(cluster: ControlPlane): Promise<McpWardenInstallation> {
  const names = DEFAULT_OPERATOR_NAMES;
  await cluster.kubectl(["apply", "--server-side", "-f", join(REPOSITORY_ROOT, "crds")]);
  await cluster.kubectl(["wait", "--for=condition=Established", `crd/${MCP_POLICY_CRD_NAME}`, "--timeout=60s"]);
  await cluster.createNamespace(names.namespace);
  await cluster.kubectl(["create", "serviceaccount", names.serviceAccount, "-n", names.namespace]);
  await cluster.kubectl(["apply", "-f", join(REPOSITORY_ROOT, OPERATOR_RBAC_FILE)]);
  const operatorCredentials = await cluster.serviceAccountCredentials(names.namespace, names.serviceAccount);
  return { names, operatorCredentials };
}

/**
 * Applies the injector's MutatingWebhookConfiguration (as the chart renders it) with the operator's
 * URL instead of its Service; the operator fills in the caBundle.
 */
export async function applyWebhookConfiguration(cluster: ControlPlane, names: OperatorRbacNames, url: string): Promise<void> {
  const configuration = renderWebhookConfiguration({ name: names.webhookConfiguration, operatorNamespace: names.namespace, url });
  await cluster.kubectl(["apply", "-f", "-"], { input: stringify(configuration) });
}

/**
 * Waits until the API server sends pods to the injector with a CA it trusts: a dry-run create of
 * `pod` (which a policy must select) comes back with the sidecar. The API server picks webhook
 * configurations and caBundle changes up through an informer, so this takes a moment.
 */
export async function waitForInjection(cluster: ControlPlane, namespace: string, pod: V1Pod, timeoutMs = 30_000): Promise<void> {
  const core = cluster.client(CoreV1Api);
  await eventually(async () => {
    const created = await core.createNamespacedPod({ namespace, body: pod, dryRun: "All" });
    if (!created.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER)) throw new Error(`a dry-run create of ${pod.metadata?.name ?? pod.metadata?.generateName} in ${namespace} was not injected yet`);
  }, { timeoutMs });
}
