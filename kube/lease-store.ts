// The leader-election lease as a coordination.k8s.io/v1 Lease object. Raw JSON keeps MicroTime
// values exactly as the API writes them, so comparing records between reads is reliable.
import { isNotFound } from "./api-errors.ts";
import type { KubeHttp } from "./http.ts";
import type { LeaseRecord } from "./lease-decision.ts";
import type { LeaseStore, StoredLease } from "./leader-election.ts";

interface LeaseObject {
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: LeaseRecord;
}

export class KubernetesLeaseStore implements LeaseStore {
  readonly description: string;
  readonly #http: KubeHttp;
  readonly #namespace: string;
  readonly #name: string;
  readonly #labels: Record<string, string>;

  constructor(http: KubeHttp, namespace: string, name: string, labels: Record<string, string> = {}) {
    this.#http = http;
    this.#namespace = namespace;
    this.#name = name;
    this.#labels = labels;
    this.description = `Lease ${namespace}/${name}`;
  }

  get #collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.#namespace)}/leases`;
  }

  async get(signal: AbortSignal): Promise<StoredLease | undefined> {
    try {
      return toStored(
        await this.#http.json<LeaseObject>(`${this.#collection}/${encodeURIComponent(this.#name)}`, { signal }),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease> {
    const body: LeaseObject & { apiVersion: string; kind: string } = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: this.#name, namespace: this.#namespace, labels: this.#labels },
      spec: record,
    };
    return toStored(
      await this.#http.json<LeaseObject>(this.#collection, {
        method: "POST",
        body: JSON.stringify(body),
        contentType: "application/json",
        signal,
      }),
    );
  }

  async update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<StoredLease> {
    const body = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: this.#name, namespace: this.#namespace, resourceVersion, labels: this.#labels },
      spec: record,
    };
    const path = `${this.#collection}/${encodeURIComponent(this.#name)}`;
    return toStored(
      await this.#http.json<LeaseObject>(path, {
        method: "PUT",
        body: JSON.stringify(body),
        contentType: "application/json",
        signal,
      }),
    );
  }
}

function toStored(lease: LeaseObject): StoredLease {
  return { record: lease.spec ?? {}, resourceVersion: lease.metadata.resourceVersion ?? "" };
}
