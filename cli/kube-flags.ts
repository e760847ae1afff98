// The flags that say which cluster and namespace a command talks to, as kubectl spells them:
// --kubeconfig, --context, -n/--namespace, -A/--all-namespaces. The namespace defaults to the
// context's, then "default", like kubectl.
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "../kube/kubeconfig.ts";

export const KUBE_OPTIONS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  namespace: { type: "string", short: "n" },
} as const;

export const KUBE_USAGE = "[-n NAMESPACE] [--context NAME] [--kubeconfig FILE]";

export interface KubeTarget {
  kubeConfig: KubeConfig;
  namespace: string;
}

export function kubeTarget(values: { kubeconfig?: string | undefined; context?: string | undefined; namespace?: string | undefined }, env: NodeJS.ProcessEnv = process.env): KubeTarget {
  const kubeConfig = loadKubeConfig({ kubeconfig: values.kubeconfig, context: values.context, env });
  const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  return { kubeConfig, namespace: values.namespace || contextNamespace || "default" };
}
