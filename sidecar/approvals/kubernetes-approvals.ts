// The sidecar's view of McpApprovals: a watch of its policy's approvals in its namespace (label
// mcpwarden.io/policy), with the pod's own token and the Role the operator binds for sidecars
// (create/get/list/watch/update on mcpapprovals, nothing on their status). It creates approvals,
// finds the ones bound to a request, tells waiters when one changes, and records a use with the
// object's resourceVersion as precondition, so of two sidecars only one can use an approval.
// Objects that do not validate are ignored: a forged or hand-edited approval unlocks nothing.
import type { KubeConfig } from "@kubernetes/client-node";
import { isConflict, isNotFound } from "../../kube/api-errors.ts";
import { systemClock, type Clock } from "../../kube/clock.ts";
import { KubeHttp } from "../../kube/http.ts";
import { Informer, type KubeObject } from "../../kube/informer.ts";
import type { Logger } from "../../kube/logger.ts";
import { McpApprovalClient, parseApproval, type McpApprovalObject } from "../../kube/mcp-approvals.ts";
import { bindingKey, type ApprovalBinding } from "../../policy/approval/binding.ts";
import { APPROVAL_POLICY_LABEL, type ApprovalUseType } from "../../policy/approval/schema.ts";
import { ApprovalsUnavailableError, bindingOf } from "./approval-object.ts";

export interface KubernetesApprovalsOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The McpPolicy whose approvals this sidecar uses. */
  policy: string;
  /** This sidecar's pod, recorded as the user of an approval. */
  podName: string;
  clock?: Clock;
  logger?: Logger;
  /** How long a first request waits for the watch to fill its cache. */
  syncTimeoutMs?: number;
  informer?: { relistIntervalMs?: number; watchdogMs?: number; backoff?: { initialMs: number; maxMs: number } };
}

export type ConsumeResult =
  { ok: true; approval: McpApprovalObject } | { ok: false; current: McpApprovalObject | undefined; why: string };

export class KubernetesApprovals {
  readonly namespace: string;
  readonly policy: string;
  readonly #o: KubernetesApprovalsOptions;
  readonly #client: McpApprovalClient;
  readonly #informer: Informer;
  readonly #byBinding = new Map<string, Map<string, McpApprovalObject>>();
  readonly #byName = new Map<string, McpApprovalObject>();
  readonly #watchers = new Map<string, Set<(approval: McpApprovalObject | undefined) => void>>();
  #started = false;
  #lastError: Error | undefined;

  constructor(options: KubernetesApprovalsOptions) {
    this.#o = options;
    this.namespace = options.namespace;
    this.policy = options.policy;
    const http = new KubeHttp(options.kubeConfig);
    this.#client = new McpApprovalClient(http);
    this.#informer = new Informer({
      http,
      path: `/apis/mcpwarden.io/v1alpha1/namespaces/${encodeURIComponent(options.namespace)}/mcpapprovals`,
      labelSelector: `${APPROVAL_POLICY_LABEL}=${options.policy}`,
      clock: options.clock ?? systemClock,
      ...(options.logger ? { logger: options.logger } : {}),
      ...options.informer,
    });
    this.#informer
      .on("add", (o) => this.#put(o))
      .on("update", (o) => this.#put(o))
      .on("delete", (o) => this.#remove(o));
    this.#informer.onError((error) => (this.#lastError = error));
  }

  /** Starts the watch on first use; throws ApprovalsUnavailableError when the cache cannot be filled in time. */
  async ready(signal?: AbortSignal): Promise<void> {
    if (!this.#started) {
      this.#started = true;
      this.#informer.start();
    }
    if (this.#informer.synced) return;
    const clock = this.#o.clock ?? systemClock;
    const timeout = new AbortController();
    const timer = clock.schedule(this.#o.syncTimeoutMs ?? 10_000, () => timeout.abort());
    const onAbort = () => timeout.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    await this.#informer.waitForSync(timeout.signal);
    timer.cancel();
    signal?.removeEventListener("abort", onAbort);
    if (!this.#informer.synced) {
      throw new ApprovalsUnavailableError(
        `cannot read McpApprovals in namespace ${this.namespace}${this.#lastError ? `: ${this.#lastError.message}` : ""}`,
      );
    }
  }

  /** Valid approvals bound to exactly this request, newest first (objects being deleted left out). */
  find(binding: ApprovalBinding): McpApprovalObject[] {
    const found = [...(this.#byBinding.get(bindingKey(binding))?.values() ?? [])];
    return found
      .filter((a) => !a.metadata.deletionTimestamp)
      .sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""));
  }

  get(name: string): McpApprovalObject | undefined {
    return this.#byName.get(name);
  }

  /**
   * The named approval from the cache, or from the API server when the watch has not brought it yet
   * (another replica created it a moment ago); undefined when it does not exist or does not validate.
   */
  async read(name: string, signal?: AbortSignal): Promise<McpApprovalObject | undefined> {
    const cached = this.#byName.get(name);
    if (cached) return cached;
    try {
      const parsed = parseApproval(await this.#client.get(this.namespace, name, signal));
      if (!parsed.ok || parsed.approval.metadata.labels?.[APPROVAL_POLICY_LABEL] !== this.policy) return undefined;
      this.#put(parsed.approval);
      return parsed.approval;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async create(
    binding: ApprovalBinding,
    fields: { args: string; waitUntil: Date; expiresAt: Date },
    signal?: AbortSignal,
  ): Promise<McpApprovalObject> {
    const spec = {
      policy: binding.policy,
      policyGeneration: binding.policyGeneration,
      tool: binding.tool,
      caller: binding.caller,
      ...(binding.session !== undefined ? { session: binding.session } : {}),
      argsDigest: binding.argsDigest,
      args: fields.args,
      waitUntil: fields.waitUntil.toISOString(),
      expiresAt: fields.expiresAt.toISOString(),
    };
    const metadata = {
      generateName: `${nameStem(binding.tool)}-`,
      labels: { [APPROVAL_POLICY_LABEL]: this.policy, "app.kubernetes.io/managed-by": "mcp-warden" },
    };
    // generateName can collide (409 AlreadyExists); the API server asks the client to try again.
    for (let attempt = 0; ; attempt++) {
      try {
        const parsed = parseApproval(await this.#client.create(this.namespace, { metadata, spec }, signal));
        if (!parsed.ok)
          throw new Error(`the API server returned an McpApproval that does not validate: ${parsed.problem}`);
        this.#put(parsed.approval);
        return parsed.approval;
      } catch (error) {
        if (attempt < 2 && isConflict(error)) continue;
        throw error;
      }
    }
  }

  /**
   * Records the one use of an approval, on the version `usable` says can be used. A version that
   * changed meanwhile is read again and retried while it stays usable; another writer's use wins.
   */
  async consume(
    approval: McpApprovalObject,
    via: ApprovalUseType["via"],
    usable: (current: McpApprovalObject) => string | undefined,
    signal?: AbortSignal,
  ): Promise<ConsumeResult> {
    let current = approval;
    for (let attempt = 0; attempt < 4; attempt++) {
      const problem = usable(current);
      if (problem !== undefined) return { ok: false, current, why: problem };
      const use: ApprovalUseType = {
        at: new Date((this.#o.clock ?? systemClock).now()).toISOString(),
        by: this.#o.podName,
        via,
      };
      try {
        const parsed = parseApproval(
          await this.#client.replace({ ...current, spec: { ...current.spec, use } }, signal),
        );
        if (!parsed.ok) return { ok: false, current: undefined, why: parsed.problem };
        this.#put(parsed.approval);
        return { ok: true, approval: parsed.approval };
      } catch (error) {
        if (isNotFound(error)) return { ok: false, current: undefined, why: "it was deleted" };
        if (!isConflict(error)) throw error;
        const fresh = parseApproval(
          await this.#client.get(this.namespace, current.metadata.name, signal).catch(() => undefined),
        );
        if (!fresh.ok) return { ok: false, current: undefined, why: "it changed and cannot be read again" };
        current = fresh.approval;
      }
    }
    return { ok: false, current, why: "it keeps changing" };
  }

  /** Calls `listener` with each new version of the named approval (undefined once deleted). */
  watch(name: string, listener: (approval: McpApprovalObject | undefined) => void): () => void {
    let set = this.#watchers.get(name);
    if (!set) this.#watchers.set(name, (set = new Set<(approval: McpApprovalObject | undefined) => void>()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#watchers.delete(name);
    };
  }

  async stop(): Promise<void> {
    await this.#informer.stop();
  }

  #put(object: KubeObject | McpApprovalObject): void {
    const parsed = parseApproval(object);
    const name = object.metadata?.name ?? "";
    if (!parsed.ok) {
      this.#o.logger?.warn(
        { approval: `${this.namespace}/${name}`, problem: parsed.problem },
        "ignoring an McpApproval that does not validate",
      );
      this.#remove(object);
      return;
    }
    const approval = parsed.approval;
    // A write of ours can come back after a newer version from the watch; keep the newest.
    const known = this.#byName.get(name);
    if (known && Number(known.metadata.resourceVersion) > Number(approval.metadata.resourceVersion)) return;
    this.#unindex(name);
    this.#byName.set(name, approval);
    const key = bindingKey(bindingOf(approval));
    let bucket = this.#byBinding.get(key);
    if (!bucket) this.#byBinding.set(key, (bucket = new Map<string, McpApprovalObject>()));
    bucket.set(name, approval);
    this.#notify(name, approval);
  }

  #remove(object: KubeObject | McpApprovalObject): void {
    const name = object.metadata?.name ?? "";
    if (!this.#byName.has(name)) return;
    this.#unindex(name);
    this.#notify(name, undefined);
  }

  #unindex(name: string): void {
    const old = this.#byName.get(name);
    if (!old) return;
    this.#byName.delete(name);
    const key = bindingKey(bindingOf(old));
    const bucket = this.#byBinding.get(key);
    bucket?.delete(name);
    if (bucket?.size === 0) this.#byBinding.delete(key);
  }

  #notify(name: string, approval: McpApprovalObject | undefined): void {
    for (const listener of [...(this.#watchers.get(name) ?? [])]) listener(approval);
  }
}

/** A readable name stem from a tool name: `resume_execution` → `resume-execution`. */
export function nameStem(tool: string): string {
  const stem = tool
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return stem || "call";
}
