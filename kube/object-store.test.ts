import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ObjectStore, objectKey, type KubeObject } from "./object-store.ts";

const obj = (name: string, rv: string, namespace = "ns"): KubeObject => ({
  metadata: { name, namespace, resourceVersion: rv },
});
const summary = (changes: Array<{ kind: string; object: KubeObject }>) =>
  changes.map((c) => `${c.kind} ${c.object.metadata?.name}@${c.object.metadata?.resourceVersion}`);

describe("ObjectStore", () => {
  it("reports adds, updates by resourceVersion, and nothing for a version it has", () => {
    const store = new ObjectStore();
    assert.equal(store.upsert(obj("a", "1"))?.kind, "add");
    assert.equal(store.upsert(obj("a", "1")), undefined);
    const update = store.upsert(obj("a", "2"));
    assert.deepEqual([update?.kind, update?.old?.metadata?.resourceVersion], ["update", "1"]);
  });

  it("replaces its content with a list, reporting deletions it never saw as events", () => {
    const store = new ObjectStore();
    store.replace([obj("keep", "1"), obj("changed", "1"), obj("gone", "1"), obj("other", "1", "ns2")]);
    const changes = store.replace([obj("keep", "1"), obj("changed", "5"), obj("new", "6"), obj("other", "1", "ns2")]);
    assert.deepEqual(summary(changes).sort(), ["add new@6", "delete gone@1", "update changed@5"]);
    assert.deepEqual(
      store
        .list("ns")
        .map((o) => o.metadata?.name)
        .sort(),
      ["changed", "keep", "new"],
    );
    assert.deepEqual(
      store.list("ns2").map((o) => o.metadata?.name),
      ["other"],
    );
    assert.equal(store.list().length, 4);
  });

  it("deletes by key and hands back the cached version", () => {
    const store = new ObjectStore();
    store.upsert(obj("a", "3"));
    const change = store.delete(obj("a", "4"));
    assert.equal(change.object.metadata?.resourceVersion, "3");
    assert.equal(store.get("ns/a"), undefined);
    assert.deepEqual(store.list("ns"), []);
  });

  it("keys cluster-scoped objects by name", () => {
    assert.equal(objectKey({ metadata: { name: "n" } }), "n");
    assert.equal(objectKey({ metadata: { name: "n", namespace: "x" } }), "x/n");
  });
});
