// kube/'s informer, lease store and leader election against a real kube-apiserver: the informer
// follows changes, resumes watches from the resourceVersion, re-lists after 410 Gone when etcd was
// compacted while the API server was down, finds deletions it missed, and restarts when nothing has
// been seen for too long; two electors share a real Lease and hand it over.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CoordinationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { KubeHttp } from "../../kube/http.ts";
import { Informer, type KubeObject } from "../../kube/informer.ts";
import { LeaderElector } from "../../kube/leader-election.ts";
import { KubernetesLeaseStore } from "../../kube/lease-store.ts";
import { startControlPlane, type ControlPlane } from "../cluster/harness.ts";
import { eventually } from "../support/eventually.ts";

const NS = "informer";
const fast = { backoff: { initialMs: 200, maxMs: 1_000 }, inactivityTimeoutMs: 70_000 };

interface Recorded {
  events: string[];
  informer: Informer;
}

function record(informer: Informer): Recorded {
  const events: string[] = [];
  const name = (o: KubeObject) => o.metadata?.name ?? "?";
  informer.on("add", (o) => events.push(`add ${name(o)}`));
  informer.on("update", (o) => events.push(`update ${name(o)}`));
  informer.on("delete", (o) => events.push(`delete ${name(o)}`));
  return { events, informer };
}

describe("kube/ against a real API server", () => {
  let cluster: ControlPlane;
  let core: CoreV1Api;
  let http: KubeHttp;
  const informers: Informer[] = [];
  const track = (informer: Informer) => (informers.push(informer), informer);
  const configMap = (name: string, value = "1") =>
    core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name }, data: { value } } });
  const names = (informer: Informer) =>
    informer
      .list(NS)
      .map((o) => o.metadata?.name)
      .sort();

  before(async () => {
    cluster = await startControlPlane({ name: "kube" });
    core = cluster.client(CoreV1Api);
    http = new KubeHttp(cluster.kubeConfig);
    await cluster.createNamespace(NS, { waitForDefaultServiceAccount: false });
  });
  after(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    await cluster?.stop();
  });

  it("lists, then follows adds, updates and deletes", async () => {
    await configMap("before");
    const { informer, events } = record(
      track(new Informer({ http, path: `/api/v1/namespaces/${NS}/configmaps`, ...fast })),
    );
    informer.start();
    await informer.waitForSync();
    assert.ok(names(informer).includes("before"));
    await configMap("later");
    await core.patchNamespacedConfigMap({
      namespace: NS,
      name: "later",
      body: [{ op: "replace", path: "/data/value", value: "2" }],
    });
    await core.deleteNamespacedConfigMap({ namespace: NS, name: "later" });
    await eventually(() =>
      assert.deepEqual(
        events.filter((e) => e.endsWith(" later")),
        ["add later", "update later", "delete later"],
      ),
    );
    assert.deepEqual(
      names(informer).filter((n) => n !== "kube-root-ca.crt"),
      ["before"],
    );
    await informer.stop();
  });

  it("resumes watches the server ends from the resourceVersion, without listing again", async () => {
    const { informer, events } = record(
      track(new Informer({ http, path: `/api/v1/namespaces/${NS}/configmaps`, watchTimeoutSeconds: () => 1, ...fast })),
    );
    informer.start();
    await informer.waitForSync();
    await eventually(() => assert.ok(informer.stats.watches >= 3, `watches: ${informer.stats.watches}`), {
      timeoutMs: 15_000,
    });
    await configMap("resumed");
    await eventually(() => assert.ok(events.includes("add resumed")));
    assert.equal(informer.stats.lists, 1, "never listed again");
    assert.equal(
      events.filter((e) => e.startsWith("add ")).length,
      informer.list().length,
      "no object was announced twice",
    );
    await informer.stop();
  });

  it("re-lists after 410 Gone and finds what changed, including deletions, across an API server restart", async () => {
    await configMap("keep");
    await configMap("doomed");
    // Only 410 Gone may cause the re-list here (not a run of failed reconnects while the API is down).
    const { informer, events } = record(
      track(
        new Informer({ http, path: `/api/v1/namespaces/${NS}/configmaps`, relistAfterWatchFailures: 1_000, ...fast }),
      ),
    );
    const errors: Error[] = [];
    informer.onError((e) => errors.push(e));
    informer.start();
    await informer.waitForSync();
    const listsBefore = informer.stats.lists;

    await cluster.stopApiServer();
    // Compact etcd to its current revision: the informer's resourceVersion is gone for good.
    const range = (await (
      await fetch(`${cluster.etcdUrl}/v3/kv/range`, {
        method: "POST",
        body: JSON.stringify({ key: Buffer.from("/").toString("base64") }),
      })
    ).json()) as { header: { revision: string } };
    const compacted = await fetch(`${cluster.etcdUrl}/v3/kv/compaction`, {
      method: "POST",
      body: JSON.stringify({ revision: range.header.revision, physical: true }),
    });
    assert.equal(compacted.status, 200);
    await eventually(() => assert.ok(errors.length > 0, "the informer noticed the outage"), { timeoutMs: 20_000 });
    await cluster.startApiServer();
    await core.deleteNamespacedConfigMap({ namespace: NS, name: "doomed" });
    await configMap("born-after");

    await eventually(
      () => {
        assert.ok(events.includes("delete doomed"), events.join(", "));
        assert.ok(events.includes("add born-after"), events.join(", "));
      },
      { timeoutMs: 60_000 },
    );
    assert.ok(names(informer).includes("keep"));
    assert.ok(!names(informer).includes("doomed"));
    assert.ok(informer.stats.gone >= 1, `the resumed watch got 410 Gone (stats ${JSON.stringify(informer.stats)})`);
    assert.ok(informer.stats.lists > listsBefore, "listed again");
    await informer.stop();
  });

  it("restarts with a fresh list when nothing has been seen for too long (watchdog)", async () => {
    const { informer, events } = record(
      track(
        new Informer({
          http,
          path: `/api/v1/namespaces/${NS}/configmaps`,
          labelSelector: "quiet=yes",
          watchdogMs: 2_000,
          ...fast,
        }),
      ),
    );
    informer.start();
    await informer.waitForSync();
    await eventually(
      () =>
        assert.ok(informer.stats.watchdogRestarts >= 1 && informer.stats.lists >= 2, JSON.stringify(informer.stats)),
      { timeoutMs: 15_000 },
    );
    assert.deepEqual(events, [], "a re-list of unchanged objects announces nothing");
    await informer.stop();
  });

  it("periodic re-lists emit only real differences", async () => {
    const { informer, events } = record(
      track(new Informer({ http, path: `/api/v1/namespaces/${NS}/configmaps`, relistIntervalMs: 500, ...fast })),
    );
    informer.start();
    await informer.waitForSync();
    const initial = events.length;
    await eventually(() => assert.ok(informer.stats.lists >= 4), { timeoutMs: 15_000 });
    assert.equal(events.length, initial);
    await informer.stop();
  });

  it("elects one leader on a real Lease and hands it over when the leader stops", async () => {
    // A lease long enough that taking it over quickly can only mean it was released.
    const timings = { leaseDurationMs: 10_000, renewDeadlineMs: 6_000, retryPeriodMs: 500 };
    const log: string[] = [];
    const make = (identity: string) =>
      new LeaderElector({
        store: new KubernetesLeaseStore(http, NS, "election", { "app.kubernetes.io/managed-by": "mcp-warden" }),
        identity,
        ...timings,
        onStartedLeading: () => log.push(`${identity} leads`),
        onStoppedLeading: () => log.push(`${identity} stopped`),
      });
    const a = make("a");
    const b = make("b");
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.run(stopA.signal);
    await eventually(() => assert.ok(a.isLeader));
    const runB = b.run(stopB.signal);
    await eventually(() => assert.equal(b.leader, "a"));
    assert.equal(b.isLeader, false);
    const coordination = cluster.client(CoordinationV1Api);
    const lease = await coordination.readNamespacedLease({ namespace: NS, name: "election" });
    assert.equal(lease.spec?.holderIdentity, "a");
    assert.equal(lease.spec?.leaseDurationSeconds, 10);

    const stoppedAt = performance.now();
    stopA.abort();
    await runA;
    await eventually(() => assert.ok(b.isLeader), { timeoutMs: 10_000 });
    assert.ok(
      performance.now() - stoppedAt < 5_000,
      "a released lease is taken within a retry period or two, not a lease duration",
    );
    const after = await coordination.readNamespacedLease({ namespace: NS, name: "election" });
    assert.equal(after.spec?.holderIdentity, "b");
    assert.equal(after.spec?.leaseTransitions, 1);
    assert.deepEqual(log, ["a leads", "a stopped", "b leads"]);
    stopB.abort();
    await runB;
  });
});
