// The cluster, credentials and namespace a kubectl-style subcommand works on. kubectl runs a plugin
// with every argument after the plugin's name and none of its own flag handling (it even refuses
// flags before the name), so the plugin reads kubectl's global flags itself: --kubeconfig (else
// KUBECONFIG, else ~/.kube/config), --context, -n/--namespace (else the context's namespace, else
// "default") and -A/--all-namespaces.
import { existsSync } from "node:fs";
import type { ParseArgsConfig } from "node:util";
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { UsageError } from "./usage-error.ts";

/** The kubectl flags, for a subcommand's parseArgs options. */
export const KUBE_CONTEXT_OPTIONS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  namespace: { type: "string", short: "n" },
  "all-namespaces": { type: "boolean", short: "A", default: false },
} as const satisfies ParseArgsConfig["options"];

export const KUBE_CONTEXT_USAGE = "[--kubeconfig FILE] [--context NAME] [-n NAMESPACE | -A]";

export interface KubeContextFlags {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
  "all-namespaces"?: boolean | undefined;
}

export interface KubeContext {
  kubeConfig: KubeConfig;
  /** The namespace to work in; undefined with --all-namespaces. */
  namespace: string | undefined;
}

export function kubeContext(flags: KubeContextFlags, env: NodeJS.ProcessEnv = process.env): KubeContext {
  if (flags["all-namespaces"] && flags.namespace)
    throw new UsageError("give either -n/--namespace or -A/--all-namespaces, not both");
  if (flags.kubeconfig !== undefined && !existsSync(flags.kubeconfig))
    throw new Error(`the kubeconfig ${flags.kubeconfig} does not exist`);
  const kubeConfig = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context, env });
  if (flags["all-namespaces"]) return { kubeConfig, namespace: undefined };
  const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  return { kubeConfig, namespace: flags.namespace ?? contextNamespace ?? "default" };
}
