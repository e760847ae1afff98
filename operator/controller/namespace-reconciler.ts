// Keeps the sidecars' RoleBinding (to the mcp-warden-sidecar ClusterRole) in step with each
// namespace's opt-in label: present (and as rendered) while the namespace is labelled
// mcpwarden.io/injection=enabled, gone once it is not. Only objects carrying mcp-warden's
// managed-by label are ever changed or deleted.
import { RbacAuthorizationV1Api, type KubeConfig, type V1RoleBinding } from "@kubernetes/client-node";
import { isNotFound } from "../../kube/api-errors.ts";
import type { Logger } from "../../kube/logger.ts";
import { INJECTION_ENABLED, INJECTION_NAMESPACE_LABEL, MANAGED_BY_LABELS } from "../names.ts";
import { SIDECAR_ROLE, sidecarRoleBinding } from "../rbac/sidecar-rbac.ts";
import type { NamespaceView } from "./policy-reconciler.ts";

export interface NamespaceReconcilerDeps {
  kubeConfig: KubeConfig;
  namespaces: { get(name: string): NamespaceView | undefined };
  logger: Logger;
}

const MANAGED_BY = "app.kubernetes.io/managed-by";

export class NamespaceReconciler {
  readonly #rbac: RbacAuthorizationV1Api;
  readonly #d: NamespaceReconcilerDeps;

  constructor(deps: NamespaceReconcilerDeps) {
    this.#d = deps;
    this.#rbac = deps.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  }

  async reconcile(name: string): Promise<void> {
    const ns = this.#d.namespaces.get(name);
    if (!ns || ns.metadata?.deletionTimestamp) return; // deleting the namespace deletes its RBAC
    if (ns.metadata?.labels?.[INJECTION_NAMESPACE_LABEL] === INJECTION_ENABLED) await this.#ensure(name);
    else await this.#remove(name);
  }

  async #ensure(namespace: string): Promise<void> {
    const binding = sidecarRoleBinding(namespace);
    const existing = await this.#get(() => this.#rbac.readNamespacedRoleBinding({ namespace, name: SIDECAR_ROLE }));
    if (!existing) {
      await this.#rbac.createNamespacedRoleBinding({ namespace, body: binding });
      this.#d.logger.info({ namespace }, "created the sidecar RoleBinding");
    } else if (JSON.stringify(existing.roleRef) !== JSON.stringify(binding.roleRef)) {
      // roleRef cannot change in place.
      await this.#rbac.deleteNamespacedRoleBinding({ namespace, name: SIDECAR_ROLE });
      await this.#rbac.createNamespacedRoleBinding({ namespace, body: binding });
    } else if (JSON.stringify(existing.subjects) !== JSON.stringify(binding.subjects) || !managed(existing)) {
      await this.#rbac.replaceNamespacedRoleBinding({
        namespace,
        name: SIDECAR_ROLE,
        body: { ...binding, metadata: { ...binding.metadata, resourceVersion: existing.metadata?.resourceVersion } },
      });
    }
  }

  async #remove(namespace: string): Promise<void> {
    const binding = await this.#get(() => this.#rbac.readNamespacedRoleBinding({ namespace, name: SIDECAR_ROLE }));
    if (binding && managed(binding)) {
      await this.#ignoreNotFound(() => this.#rbac.deleteNamespacedRoleBinding({ namespace, name: SIDECAR_ROLE }));
      this.#d.logger.info({ namespace }, "removed the sidecar RoleBinding (namespace no longer opted in)");
    }
  }

  async #get<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async #ignoreNotFound(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

function managed(object: V1RoleBinding): boolean {
  return object.metadata?.labels?.[MANAGED_BY] === MANAGED_BY_LABELS[MANAGED_BY];
}
