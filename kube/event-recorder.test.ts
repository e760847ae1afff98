import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventRecorder, type EventsApi } from "./event-recorder.ts";
import { ManualClock } from "./manual-clock.testing.ts";

class RecordingApi implements EventsApi {
  created: Array<{ namespace: string; event: Record<string, unknown> }> = [];
  bumps: Array<{ name: string; count: number }> = [];
  missing = new Set<string>();
  create(namespace: string, event: Record<string, unknown>) {
    this.created.push({ namespace, event });
    return Promise.resolve();
  }
  bump(_namespace: string, name: string, count: number) {
    if (this.missing.has(name)) return Promise.reject(Object.assign(new Error("gone"), { code: 404 }));
    this.bumps.push({ name, count });
    return Promise.resolve();
  }
}

const policy = {
  kind: "McpPolicy",
  apiVersion: "mcpwarden.io/v1alpha1",
  namespace: "agents",
  name: "kestra",
  uid: "u1",
};

describe("EventRecorder", () => {
  it("writes an Event that names the object, reason and reporting component", async () => {
    const api = new RecordingApi();
    const r = new EventRecorder(api, { component: "mcp-warden-operator", instance: "pod-1", clock: new ManualClock() });
    r.record(policy, "Warning", "InvalidRule", "spec.tools[0].require[0]: syntax error");
    await r.flush();
    assert.equal(api.created.length, 1);
    const e = api.created[0]!.event;
    assert.equal(api.created[0]!.namespace, "agents");
    assert.deepEqual(e.involvedObject, {
      kind: "McpPolicy",
      apiVersion: "mcpwarden.io/v1alpha1",
      namespace: "agents",
      name: "kestra",
      uid: "u1",
    });
    assert.equal(e.type, "Warning");
    assert.equal(e.reason, "InvalidRule");
    assert.equal(e.count, 1);
    assert.match((e.metadata as { name: string }).name, /^kestra\.[0-9a-f]{16}$/);
    assert.deepEqual(e.source, { component: "mcp-warden-operator" });
  });

  it("counts repeats within the window on the same Event, and starts a new one after it", async () => {
    const clock = new ManualClock();
    const api = new RecordingApi();
    const r = new EventRecorder(api, { component: "c", instance: "i", clock, aggregationWindowMs: 60_000 });
    r.record(policy, "Normal", "Injected", "same");
    r.record(policy, "Normal", "Injected", "same");
    r.record(policy, "Normal", "Injected", "different");
    await r.flush();
    assert.equal(api.created.length, 2);
    assert.deepEqual(
      api.bumps.map((b) => b.count),
      [2],
    );
    await clock.advance(61_000);
    r.record(policy, "Normal", "Injected", "same");
    await r.flush();
    assert.equal(api.created.length, 3);
  });

  it("writes a new Event when the aggregated one has expired", async () => {
    const api = new RecordingApi();
    const r = new EventRecorder(api, { component: "c", instance: "i", clock: new ManualClock() });
    r.record(policy, "Normal", "Injected", "m");
    await r.flush();
    api.missing.add((api.created[0]!.event.metadata as { name: string }).name);
    r.record(policy, "Normal", "Injected", "m");
    await r.flush();
    assert.equal(api.created.length, 2);
  });

  it("drops events beyond the queue bound instead of growing", async () => {
    const api = new RecordingApi();
    const r = new EventRecorder(api, { component: "c", instance: "i", clock: new ManualClock(), maxQueued: 2 });
    for (let i = 0; i < 5; i++) r.record(policy, "Normal", "R", `m${i}`);
    await r.flush();
    assert.ok(api.created.length <= 3);
    assert.ok(r.dropped >= 2);
  });
});
