// Namespaces as tests need them: labelled (injection opt-in, Pod Security level) and usable, i.e.
// with the `default` ServiceAccount the controller-manager creates (until it exists, the ServiceAccount
// admission plugin rejects pods that use it, as on any real cluster).
import type { CoreV1Api, V1Namespace } from "@kubernetes/client-node";
import { eventually } from "../support/eventually.ts";

export interface NamespaceOptions {
  labels?: Record<string, string>;
  /** Default true: resolve only once the namespace's `default` ServiceAccount exists. */
  waitForDefaultServiceAccount?: boolean;
  timeoutMs?: number;
}

export async function createNamespace(
  core: CoreV1Api,
  name: string,
  options: NamespaceOptions = {},
): Promise<V1Namespace> {
  const namespace = await core.createNamespace({
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: options.labels ?? {} } },
  });
  if (options.waitForDefaultServiceAccount ?? true) {
    await eventually(() => core.readNamespacedServiceAccount({ namespace: name, name: "default" }), {
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }
  return namespace;
}
