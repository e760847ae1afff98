// The informer's cache: objects by namespace/name, indexed by namespace, and the changes a watch
// event or a fresh list makes to it. A list is compared with what is cached, so re-lists report
// only real differences (an object whose resourceVersion did not move is not an update).
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  [field: string]: unknown;
}

export interface KubeObject {
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export type ChangeKind = "add" | "update" | "delete";

export interface Change<T> {
  kind: ChangeKind;
  object: T;
  old: T | undefined;
}

export function objectKey(object: KubeObject): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name ?? ""}` : (name ?? "");
}

export class ObjectStore<T extends KubeObject> {
  readonly #all = new Map<string, T>();
  readonly #byNamespace = new Map<string, Map<string, T>>();

  get(key: string): T | undefined {
    return this.#all.get(key);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.#all.values()];
    return [...(this.#byNamespace.get(namespace)?.values() ?? [])];
  }

  keys(): string[] {
    return [...this.#all.keys()];
  }

  /** An added or modified object; undefined when the cache already had this version. */
  upsert(object: T): Change<T> | undefined {
    const key = objectKey(object);
    const old = this.#all.get(key);
    if (old && old.metadata?.resourceVersion === object.metadata?.resourceVersion) return undefined;
    this.#put(key, object);
    return { kind: old ? "update" : "add", object, old };
  }

  /** A deleted object; reports the cached version when there is one. */
  delete(object: T): Change<T> {
    const key = objectKey(object);
    const old = this.#all.get(key);
    if (old) this.#remove(key, old);
    return { kind: "delete", object: old ?? object, old };
  }

  /** Makes the cache hold exactly `objects`; returns what changed. */
  replace(objects: readonly T[]): Change<T>[] {
    const fresh = new Map(objects.map((o) => [objectKey(o), o]));
    const changes: Change<T>[] = [];
    for (const [key, old] of this.#all) {
      if (!fresh.has(key)) {
        this.#remove(key, old);
        changes.push({ kind: "delete", object: old, old });
      }
    }
    for (const object of fresh.values()) {
      const change = this.upsert(object);
      if (change) changes.push(change);
    }
    return changes;
  }

  #put(key: string, object: T): void {
    this.#all.set(key, object);
    const ns = object.metadata?.namespace ?? "";
    let names = this.#byNamespace.get(ns);
    if (!names) this.#byNamespace.set(ns, (names = new Map<string, T>()));
    names.set(object.metadata?.name ?? "", object);
  }

  #remove(key: string, object: T): void {
    this.#all.delete(key);
    const ns = object.metadata?.namespace ?? "";
    const names = this.#byNamespace.get(ns);
    names?.delete(object.metadata?.name ?? "");
    if (names?.size === 0) this.#byNamespace.delete(ns);
  }
}
