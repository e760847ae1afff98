// The wait for one held call's decision, state by state and event by event (ADR 0920), with time
// from a ManualClock: each transition of the table, and the races where a second event comes after
// the first decided (a reply after the deadline, an abort during the fallback, an approval that
// changes twice).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { ManualClock } from "../../kube/manual-clock.testing.ts";
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import type { ApprovalSettings, CompiledPolicy } from "../../policy/compile.ts";
import type { KubernetesLookup } from "./approval-request.ts";
import { ApprovalWait, type ApprovalCache, type ApprovalWaitOptions } from "./approval-wait.ts";
import { Approvals } from "./approvals.ts";
import { ElicitationBroker, type ElicitationReply } from "./elicitation.ts";

const log = pino({ level: "silent" });
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const policy = { name: "kestra", generation: 3 } as CompiledPolicy;

/** The McpApprovals as the wait reads them: the informer's cache, and its change notifications. */
class ApprovalStore implements ApprovalCache {
  readonly namespace = "agents";
  readonly #objects = new Map<string, McpApprovalObject>();
  readonly #watchers = new Map<string, Set<(a: McpApprovalObject | undefined) => void>>();

  get(name: string): McpApprovalObject | undefined {
    return this.#objects.get(name);
  }

  watch(name: string, listener: (a: McpApprovalObject | undefined) => void): () => void {
    const set = this.#watchers.get(name) ?? new Set();
    this.#watchers.set(name, set.add(listener));
    return () => void set.delete(listener);
  }

  get watchers(): number {
    return [...this.#watchers.values()].reduce((n, s) => n + s.size, 0);
  }

  put(approval: McpApprovalObject): void {
    this.#objects.set(approval.metadata.name, approval);
    for (const listener of [...(this.#watchers.get(approval.metadata.name) ?? [])]) listener(approval);
  }

  delete(name: string): void {
    this.#objects.delete(name);
    for (const listener of [...(this.#watchers.get(name) ?? [])]) listener(undefined);
  }
}

function deferred<T>() {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function setup(
  o: {
    via?: ApprovalSettings["via"];
    approval?: boolean;
    ask?: boolean;
    kubernetes?: boolean;
    expiresAt?: string;
  } = {},
) {
  const clock = new ManualClock(T0);
  const settings: ApprovalSettings = { timeoutMs: 60_000, ttlMs: 600_000, via: o.via ?? "both" };
  const approvals = new Approvals({ kubernetes: undefined, broker: new ElicitationBroker(), clock, log });
  const binding = {
    ...approvals.binding({ policy, tool: "execute_flow", args: { flow_id: "f" }, grant: "alice", session: "s-1" }),
    policy: "kestra",
  };
  let version = 1;
  const approval = (
    over: { status?: McpApprovalObject["status"]; spec?: Partial<McpApprovalObject["spec"]> } = {},
  ): McpApprovalObject => ({
    apiVersion: "mcpwarden.io/v1alpha1",
    kind: "McpApproval",
    metadata: {
      name: "execute-flow-abcde",
      namespace: "agents",
      creationTimestamp: iso(0),
      resourceVersion: String(version++),
    },
    spec: {
      policy: "kestra",
      policyGeneration: 3,
      tool: "execute_flow",
      caller: "alice",
      session: binding.session,
      argsDigest: binding.argsDigest,
      args: "{}",
      waitUntil: iso(60_000),
      expiresAt: iso(660_000),
      ...over.spec,
    },
    ...(over.status ? { status: over.status } : {}),
  });
  const store = new ApprovalStore();
  const pending = approval(o.expiresAt ? { spec: { expiresAt: o.expiresAt } } : {});
  if (o.approval !== false) store.put(pending);
  const abort = new AbortController();
  const question = deferred<ElicitationReply>();
  const fallback = deferred<KubernetesLookup>();
  let withdrawn: AbortSignal | undefined;
  let asked = 0;
  const options: ApprovalWaitOptions = {
    clock,
    log,
    kubernetes: o.kubernetes === false ? undefined : store,
    settings,
    tool: "execute_flow",
    grant: "alice",
    signal: abort.signal,
    startedAt: clock.now(),
    approval: o.approval === false ? undefined : pending,
    ask:
      o.ask === false
        ? undefined
        : (signal) => {
            asked++;
            withdrawn = signal;
            return question.promise;
          },
    unusable: (a) => approvals.unusable(a, binding, settings),
    fallBack: () => fallback.promise,
  };
  const wait = new ApprovalWait(options);
  return {
    clock,
    store,
    abort,
    question,
    fallback,
    wait,
    pending,
    approval,
    approved: (by = "ops-alice") =>
      approval({ status: { decision: "Approved", decidedBy: by, decidedAt: iso(clock.now() - T0) } }),
    get withdrawn() {
      return withdrawn;
    },
    get asked() {
      return asked;
    },
  };
}

const who = "alice (at the client)";

describe("ApprovalWait: watching an McpApproval", () => {
  it("starts watching a pending one and decides when it is approved, then stops every timer and watch", async () => {
    const t = setup({ via: "kubernetes", ask: false });
    const outcome = t.wait.start();
    assert.equal(t.wait.state.name, "watching");
    assert.equal(t.store.watchers, 1);
    await t.clock.advance(5_000);
    const approved = t.approved();
    t.store.put(approved);
    assert.deepEqual(await outcome, {
      kind: "approved",
      via: "Kubernetes",
      approval: approved,
      decidedBy: "ops-alice",
    });
    assert.equal(t.wait.state.name, "decided");
    assert.equal(t.clock.pendingTimers, 0, "deadline and expiry timers cancelled");
    assert.equal(t.store.watchers, 0);
  });

  it("decides at once when the cache already holds a decided version", async () => {
    const t = setup({ via: "kubernetes", ask: false });
    t.store.put(t.approval({ status: { decision: "Denied", decidedBy: "ops-bob", decidedAt: iso(0), reason: "no" } }));
    assert.deepEqual(await t.wait.start(), {
      kind: "denied",
      via: "Kubernetes",
      approval: "agents/execute-flow-abcde",
      decidedBy: "ops-bob",
      reason: "no",
    });
  });

  it("ends denied, used or deleted as the McpApproval changes", async () => {
    const cases: Array<[(t: ReturnType<typeof setup>) => void, unknown]> = [
      [
        (t) => t.store.put(t.approval({ status: { decision: "Denied", decidedBy: "ops-bob", decidedAt: iso(0) } })),
        {
          kind: "denied",
          via: "Kubernetes",
          approval: "agents/execute-flow-abcde",
          decidedBy: "ops-bob",
          reason: undefined,
        },
      ],
      [
        (t) => t.store.put(t.approval({ spec: { use: { at: iso(1), by: "kestra-2", via: "Kubernetes" } } })),
        { kind: "used", approval: "agents/execute-flow-abcde" },
      ],
      [
        (t) => t.store.delete("execute-flow-abcde"),
        {
          kind: "denied",
          via: "Kubernetes",
          approval: "agents/execute-flow-abcde",
          decidedBy: "someone",
          reason: "the approval was deleted before it was used",
        },
      ],
    ];
    for (const [change, expected] of cases) {
      const t = setup({ via: "kubernetes", ask: false });
      const outcome = t.wait.start();
      await t.clock.advance(1_000);
      change(t);
      assert.deepEqual(await outcome, expected);
    }
  });

  it("expires at the McpApproval's expiry when that comes before the rule's deadline", async () => {
    const t = setup({ via: "kubernetes", ask: false, expiresAt: iso(30_000) });
    const outcome = t.wait.start();
    await t.clock.advance(29_999);
    assert.equal(t.wait.state.name, "watching");
    await t.clock.advance(1);
    assert.deepEqual(await outcome, { kind: "expired", approval: "agents/execute-flow-abcde" });
  });

  it("an approval changed twice: a change that decides nothing is kept, the next one decides", async () => {
    const t = setup({ via: "kubernetes", ask: false });
    const outcome = t.wait.start();
    const relabelled = t.approval();
    t.store.put(relabelled);
    const state = t.wait.state;
    assert.equal(state.name, "watching");
    assert.equal(state.name === "watching" && state.approval, relabelled, "the wait holds the newest version");
    await t.clock.advance(2_000);
    const approved = t.approved("ops-carol");
    t.store.put(approved);
    t.store.put(t.approval({ status: { decision: "Denied", decidedBy: "ops-bob", decidedAt: iso(2_000) } }));
    assert.deepEqual(
      await outcome,
      { kind: "approved", via: "Kubernetes", approval: approved, decidedBy: "ops-carol" },
      "the first decision wins",
    );
  });

  it("is pending on the McpApproval at the rule's deadline, and says how long it waited when aborted", async () => {
    const t = setup({ via: "kubernetes", ask: false });
    const outcome = t.wait.start();
    await t.clock.advance(60_000);
    assert.deepEqual(await outcome, { kind: "pending", approval: "execute-flow-abcde", waitedMs: 60_000, held: true });
    const a = setup({ via: "kubernetes", ask: false });
    const aborted = a.wait.start();
    await a.clock.advance(2_600);
    a.abort.abort();
    assert.deepEqual(await aborted, { kind: "pending", approval: "execute-flow-abcde", waitedMs: 3_000, held: true });
  });

  it("decides at once, having waited a second, when the call was aborted before the wait started", async () => {
    const t = setup({ via: "kubernetes", ask: false });
    t.abort.abort();
    assert.deepEqual(await t.wait.start(), {
      kind: "pending",
      approval: "execute-flow-abcde",
      waitedMs: 1_000,
      held: true,
    });
    assert.equal(t.store.watchers, 0, "nothing was watched");
  });
});

describe("ApprovalWait: asking at the client", () => {
  it("asks, and decides on the reply; the question is withdrawn once decided", async () => {
    for (const [reply, expected] of [
      [
        { action: "accept", content: { approve: true } },
        { kind: "approved", via: "Elicitation", approval: undefined, decidedBy: who },
      ],
      [
        { action: "accept", content: { approve: false } },
        {
          kind: "denied",
          via: "Elicitation",
          approval: undefined,
          decidedBy: who,
          reason: "not approved at the client",
        },
      ],
      [
        { action: "decline" },
        { kind: "denied", via: "Elicitation", approval: undefined, decidedBy: who, reason: "declined at the client" },
      ],
      [
        { action: "cancel" },
        {
          kind: "denied",
          via: "Elicitation",
          approval: undefined,
          decidedBy: who,
          reason: "dismissed at the client without approving",
        },
      ],
    ] as Array<[ElicitationReply, unknown]>) {
      const t = setup({ via: "elicitation", approval: false, kubernetes: false });
      const outcome = t.wait.start();
      assert.equal(t.wait.state.name, "asking");
      assert.equal(t.asked, 1);
      assert.equal(t.withdrawn?.aborted, false);
      t.question.resolve(reply);
      assert.deepEqual(await outcome, expected);
      assert.equal(t.withdrawn?.aborted, true);
    }
  });

  it("a reply after the deadline changes nothing", async () => {
    const t = setup({ via: "elicitation", approval: false, kubernetes: false });
    const outcome = t.wait.start();
    await t.clock.advance(60_000);
    assert.deepEqual(await outcome, { kind: "unanswered", waitedMs: 60_000 });
    assert.equal(t.withdrawn?.aborted, true, "the question is withdrawn");
    t.wait.clientReplied({ action: "accept", content: { approve: true } });
    assert.deepEqual(t.wait.state, { name: "decided", outcome: { kind: "unanswered", waitedMs: 60_000 } });
  });

  it("is unavailable when the question cannot be sent", async () => {
    const t = setup({ via: "elicitation", approval: false, kubernetes: false });
    const outcome = t.wait.start();
    t.question.reject(new Error("client went away"));
    assert.deepEqual(await outcome, { kind: "unavailable", why: "the client cannot be asked" });
  });
});

describe("ApprovalWait: asking and watching (both)", () => {
  it("asks after following the McpApproval, and the person at the client decides first", async () => {
    const t = setup();
    const outcome = t.wait.start();
    assert.equal(t.wait.state.name, "asking-and-watching");
    t.question.resolve({ action: "accept", content: { approve: true } });
    assert.deepEqual(
      await outcome,
      { kind: "approved", via: "Elicitation", approval: t.pending, decidedBy: who },
      "the McpApproval is named, for its use to be recorded",
    );
  });

  it("does not ask when the McpApproval already decides", async () => {
    const t = setup();
    t.store.put(t.approved());
    assert.equal((await t.wait.start()).kind, "approved");
    assert.equal(t.asked, 0);
  });

  it("Kubernetes decides first: the question is withdrawn", async () => {
    const t = setup();
    const outcome = t.wait.start();
    t.store.put(t.approved());
    assert.equal((await outcome).kind, "approved");
    assert.equal(t.withdrawn?.aborted, true);
  });

  it("a dismissed question, a client error or an unsendable question leave the McpApproval to decide", async () => {
    const events: Array<(t: ReturnType<typeof setup>) => void> = [
      (t) => t.question.resolve({ action: "cancel" }),
      (t) => t.question.resolve({ action: "error", message: "no forms" }),
      (t) => t.question.reject(new Error("stream closed")),
    ];
    for (const event of events) {
      const t = setup();
      const outcome = t.wait.start();
      event(t);
      await t.clock.advance(0);
      assert.equal(t.wait.state.name, "watching");
      const approved = t.approved();
      t.store.put(approved);
      assert.deepEqual(await outcome, {
        kind: "approved",
        via: "Kubernetes",
        approval: approved,
        decidedBy: "ops-alice",
      });
    }
  });
});

describe("ApprovalWait: falling back to Kubernetes", () => {
  it("a client error with no McpApproval falls back, then watches the one found", async () => {
    const t = setup({ via: "both", approval: false });
    const outcome = t.wait.start();
    t.question.resolve({ action: "error", message: "no forms" });
    await t.clock.advance(0);
    assert.equal(t.wait.state.name, "falling-back");
    t.store.put(t.pending);
    t.fallback.resolve({ approval: t.pending });
    await t.clock.advance(0);
    assert.equal(t.wait.state.name, "watching");
    await t.clock.advance(10_000);
    t.store.put(t.approved());
    assert.equal((await outcome).kind, "approved");
  });

  it("ends with what the fallback found: a decision, a problem, or a failure", async () => {
    const cases: Array<[(t: ReturnType<typeof setup>) => void, unknown]> = [
      [
        (t) => t.fallback.resolve({ outcome: { kind: "expired", approval: "agents/x" } }),
        { kind: "expired", approval: "agents/x" },
      ],
      [
        (t) => t.fallback.resolve({ problem: "the Kubernetes API cannot be reached" }),
        { kind: "unavailable", why: "the client could not be asked, and the Kubernetes API cannot be reached" },
      ],
      [(t) => t.fallback.reject(new Error("forbidden")), { kind: "unavailable", why: "forbidden" }],
    ];
    for (const [end, expected] of cases) {
      const t = setup({ via: "both", approval: false });
      const outcome = t.wait.start();
      t.question.resolve({ action: "error", message: "no forms" });
      await t.clock.advance(0);
      end(t);
      assert.deepEqual(await outcome, expected);
    }
  });

  it("an abort during the fallback decides; what the fallback finds afterwards changes nothing", async () => {
    const t = setup({ via: "both", approval: false });
    const outcome = t.wait.start();
    await t.clock.advance(4_000);
    t.question.resolve({ action: "error", message: "no forms" });
    await t.clock.advance(0);
    t.abort.abort();
    assert.deepEqual(await outcome, { kind: "unanswered", waitedMs: 4_000 });
    t.store.put(t.pending);
    t.fallback.resolve({ approval: t.pending });
    await t.clock.advance(0);
    assert.deepEqual(t.wait.state, { name: "decided", outcome: { kind: "unanswered", waitedMs: 4_000 } });
    assert.equal(t.store.watchers, 0, "the McpApproval found late is not watched");
  });

  it("the deadline during the fallback leaves the call unanswered", async () => {
    const t = setup({ via: "both", approval: false });
    const outcome = t.wait.start();
    t.question.resolve({ action: "error", message: "no forms" });
    await t.clock.advance(60_000);
    assert.deepEqual(await outcome, { kind: "unanswered", waitedMs: 60_000 });
  });
});
