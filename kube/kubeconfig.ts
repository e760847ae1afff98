// Where the API server and credentials come from: an explicit kubeconfig file, the KUBECONFIG
// variable, the pod's service-account token (in-cluster, token re-read as the kubelet rotates it),
// or ~/.kube/config. Falling back silently to http://localhost:8080, as client-node would, is never
// what anyone running this wants, so that case is an error that says what was tried.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

export interface KubeConfigOptions {
  /** A kubeconfig file (the --kubeconfig flag). */
  kubeconfig?: string | undefined;
  /** A context in that file other than the current one. */
  context?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Prefix of /var/run/secrets/kubernetes.io/serviceaccount for the in-cluster files (tests). */
  serviceAccountRoot?: string;
}

export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const env = options.env ?? process.env;
  const kc = new KubeConfig();
  const home = join(env.HOME ?? homedir(), ".kube", "config");
  if (options.kubeconfig) {
    kc.loadFromFile(options.kubeconfig);
  } else if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(delimiter).filter(Boolean);
    for (const file of files) {
      if (!existsSync(file)) throw new Error(`KUBECONFIG names ${file}, which does not exist`);
    }
    loadMerged(kc, files);
  } else if (env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster(options.serviceAccountRoot);
  } else if (existsSync(home)) {
    kc.loadFromFile(home);
  } else {
    throw new Error(
      `no Kubernetes configuration: not in a cluster (KUBERNETES_SERVICE_HOST unset), no --kubeconfig, no KUBECONFIG, no ${home}`,
    );
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      throw new Error(
        `context "${options.context}" is not in the kubeconfig (it has: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(", ") || "none"
        })`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig has no cluster for context "${kc.getCurrentContext()}"`);
  return kc;
}

/** Several kubeconfig files merged as kubectl merges them: for each name (and the current context),
 * the first file that sets it wins. */
function loadMerged(kc: KubeConfig, files: string[]): void {
  kc.loadFromFile(files[0] as string);
  for (const file of files.slice(1)) {
    const next = new KubeConfig();
    next.loadFromFile(file);
    const has = (list: { name: string }[], name: string) => list.some((item) => item.name === name);
    const fresh = new KubeConfig();
    fresh.loadFromOptions({
      clusters: next.getClusters().filter((c) => !has(kc.getClusters(), c.name)),
      users: next.getUsers().filter((u) => !has(kc.getUsers(), u.name)),
      contexts: next.getContexts().filter((c) => !has(kc.getContexts(), c.name)),
      currentContext: next.getCurrentContext(),
    });
    kc.mergeConfig(fresh, Boolean(kc.getCurrentContext()));
  }
}
