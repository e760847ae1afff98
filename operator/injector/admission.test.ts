import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventRecorder, type EventsApi } from "../../kube/event-recorder.ts";
import { ManualClock } from "../../kube/manual-clock.testing.ts";
import { createOperatorMetrics } from "../metrics.ts";
import { PolicyIndex, policyEntry } from "../policy-index.ts";
import { AdmissionHandler, type AdmissionReviewResponse } from "./admission.ts";
import { injectorConfig } from "./config.ts";

const created: Array<Record<string, unknown>> = [];
const api: EventsApi = {
  create: (_ns, event) => (created.push(event), Promise.resolve()),
  bump: () => Promise.resolve(),
};

function handler(ready = true) {
  const index = new PolicyIndex();
  for (const name of ["a", "b"]) {
    index.set(
      policyEntry({
        metadata: { name, namespace: "agents" },
        spec: { podSelector: { matchLabels: { shared: "yes" } }, upstream: { port: 8000 } },
      }),
    );
  }
  index.set(
    policyEntry({
      metadata: { name: "k", namespace: "agents" },
      spec: { podSelector: { matchLabels: { app: "k" } }, upstream: { profile: "kestra" } },
    }),
  );
  const metrics = createOperatorMetrics({ version: "t", defaultMetrics: false });
  const events = new EventRecorder(api, {
    component: "mcp-warden-operator",
    instance: "test",
    clock: new ManualClock(),
  });
  const h = new AdmissionHandler({
    index,
    config: injectorConfig({ sidecarImage: "img", operatorNamespace: "mcp-warden" }),
    ready: () => ready,
    metrics,
    events,
  });
  return { h, metrics, events };
}

const review = (object: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "u-1",
    kind: { group: "", version: "v1", kind: "Pod" },
    operation: "CREATE",
    namespace: "agents",
    object,
    ...extra,
  },
});
const rsOwned = (labels: Record<string, string>) => ({
  metadata: {
    generateName: "k-7d9-",
    labels,
    ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "k-7d9", uid: "rs-uid", controller: true }],
  },
  spec: { containers: [{ name: "kestra", image: "ghcr.io/kestra-io/mcp-server-python:1" }] },
});

describe("AdmissionHandler", () => {
  it("refuses pods while the policy cache is not synced, rather than let them run unguarded", () => {
    const { h } = handler(false);
    const answer = h.review(review(rsOwned({ app: "k" })));
    assert.equal(answer.status, 200);
    const r = answer.body.response;
    assert.equal(r.allowed, false);
    assert.equal(r.status?.code, 503);
  });

  it("rejects with 403 and a message naming both policies, and records the Event on the ReplicaSet", async () => {
    created.length = 0;
    const { h, events, metrics } = handler();
    const r = (h.review(review(rsOwned({ shared: "yes" }))).body as AdmissionReviewResponse).response;
    assert.equal(r.allowed, false);
    assert.equal(r.status?.code, 403);
    assert.match(r.status?.message ?? "", /\(a, b\)/);
    await events.flush();
    assert.equal(created.length, 1);
    assert.deepEqual(
      [created[0]!.reason, (created[0]!.involvedObject as { kind: string; name: string }).kind],
      ["InjectionRejected", "ReplicaSet"],
    );
    assert.match(
      await metrics.registry.getSingleMetricAsString("mcp_warden_injections_total"),
      /result="rejected",reason="conflicting_policies"\} 1/,
    );
  });

  it("writes no Events for dry runs, but still answers with the patch", async () => {
    created.length = 0;
    const { h, events } = handler();
    const r = (h.review(review(rsOwned({ app: "k" }), { dryRun: true })).body as AdmissionReviewResponse).response;
    assert.equal(r.allowed, true);
    assert.equal(r.patchType, "JSONPatch");
    await events.flush();
    assert.equal(created.length, 0);
  });

  it("lets anything that is not a pod creation through untouched", () => {
    const { h } = handler();
    const r = (h.review(review(rsOwned({ app: "k" }), { operation: "UPDATE" })).body as AdmissionReviewResponse)
      .response;
    assert.deepEqual(r, { uid: "u-1", allowed: true });
  });

  it("answers 400 to reviews that are not AdmissionReview v1 or lack a pod", () => {
    const { h } = handler();
    assert.equal(h.review({ kind: "AdmissionReview" }).status, 400);
    assert.equal(h.review(review({ metadata: {} })).status, 400);
    assert.equal(h.review("nope").status, 400);
  });
});
