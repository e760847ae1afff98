// The approval decision for one call, with time from a ManualClock: what makes an approval read from
// the API usable, and the elicitation path (no Kubernetes needed) from question to outcome.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { ManualClock } from "../../kube/manual-clock.testing.ts";
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import type { ApprovalSettings, CompiledPolicy } from "../../policy/compile.ts";
import { Approvals, type ApprovalOutcome, type ApprovalRequest } from "./approvals.ts";
import { ElicitationBroker, supportsFormElicitation } from "./elicitation.ts";

const log = pino({ level: "silent" });
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const settings: ApprovalSettings = { timeoutMs: 60_000, ttlMs: 600_000, via: "elicitation" };
const policy = { name: "agents/kestra", generation: 3 } as CompiledPolicy;

function setup() {
  const clock = new ManualClock(T0);
  const broker = new ElicitationBroker();
  const approvals = new Approvals({ kubernetes: undefined, broker, clock, log });
  const sent: Array<Record<string, unknown>> = [];
  const abort = new AbortController();
  const request = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
    policy,
    settings,
    tool: "execute_flow",
    args: { flow_id: "f" },
    grant: "alice",
    session: "s-1",
    hold: true,
    signal: abort.signal,
    elicit: { target: { session: "s-1", grant: "alice" }, send: (m) => Promise.resolve(void sent.push(m)) },
    ...over,
  });
  const answer = (result: unknown, session = "s-1", grant = "alice") =>
    broker.deliver(
      { jsonrpc: "2.0", id: sent.find((m) => m.method === "elicitation/create")?.id, result },
      session,
      grant,
    );
  return { clock, broker, approvals, sent, abort, request, answer };
}

describe("Approvals at the client (elicitation)", () => {
  it("asks, and approves on an accepted, ticked form", async () => {
    const t = setup();
    const outcome = t.approvals.decide(t.request());
    await t.clock.advance(0);
    assert.equal(t.sent[0]?.method, "elicitation/create");
    assert.match(String(t.sent[0]?.id), /^mcp-warden-approval-[A-Za-z0-9_-]{22}$/);
    assert.equal(
      t.answer({ action: "accept", content: { approve: true } }, "s-1", "bob"),
      true,
      "an answer from another caller is dropped",
    );
    assert.equal(t.broker.outstanding, 1, "…and does not count");
    assert.equal(t.answer({ action: "accept", content: { approve: true } }), true);
    assert.deepEqual(await outcome, {
      kind: "approved",
      via: "Elicitation",
      approval: undefined,
      decidedBy: "alice (at the client)",
    });
  });

  it("denies on decline, on an unticked form and on a dismissed question", async () => {
    for (const [result, reason] of [
      [{ action: "decline" }, "declined at the client"],
      [{ action: "accept", content: { approve: false, reason: "wrong flow" } }, "wrong flow"],
      [{ action: "cancel" }, "dismissed at the client without approving"],
    ] as const) {
      const t = setup();
      const outcome = t.approvals.decide(t.request());
      await t.clock.advance(0);
      t.answer(result);
      assert.deepEqual(await outcome, {
        kind: "denied",
        via: "Elicitation",
        approval: undefined,
        decidedBy: "alice (at the client)",
        reason,
      });
    }
  });

  it("gives up after the rule's timeout and withdraws the question", async () => {
    const t = setup();
    const outcome = t.approvals.decide(t.request());
    await t.clock.advance(59_999);
    assert.equal(t.sent.length, 1);
    await t.clock.advance(1);
    assert.deepEqual(await outcome, { kind: "unanswered", waitedMs: 60_000 });
    assert.deepEqual(t.sent[1], {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: t.sent[0]?.id, reason: "decided elsewhere" },
    });
    assert.equal(t.broker.outstanding, 0);
  });

  it("stops waiting when the call is cancelled, saying how long it waited", async () => {
    const t = setup();
    const outcome = t.approvals.decide(t.request());
    await t.clock.advance(12_400);
    t.abort.abort();
    assert.deepEqual(await outcome, { kind: "unanswered", waitedMs: 12_000 });
  });

  it("cannot approve without a way to ask: no stream to ask on, or no Kubernetes API to fall back to", async () => {
    const t = setup();
    const noElicitation = (await t.approvals.decide(t.request({ elicit: undefined }))) as Extract<
      ApprovalOutcome,
      { kind: "unavailable" }
    >;
    assert.equal(noElicitation.kind, "unavailable");
    assert.match(noElicitation.why, /Kubernetes approvals need --policy k8s:\/\/<namespace>\/<name>/);
    const failing = t.approvals.decide(t.request());
    await t.clock.advance(0);
    t.broker.deliver(
      { jsonrpc: "2.0", id: t.sent[0]?.id, error: { code: -32602, message: "no forms here" } },
      "s-1",
      "alice",
    );
    const outcome = (await failing) as Extract<ApprovalOutcome, { kind: "unavailable" }>;
    assert.equal(outcome.kind, "unavailable");
    assert.match(outcome.why, /^the client could not be asked, and this sidecar reads its policy from a file/);
  });
});

describe("Approvals: what makes an approval from the API usable", () => {
  const t = setup();
  const binding = t.approvals.binding({
    policy,
    tool: "execute_flow",
    args: { flow_id: "f" },
    grant: "alice",
    session: "s-1",
  });
  const kube: ApprovalSettings = { ...settings, via: "kubernetes" };
  const approval = (
    over: {
      spec?: Partial<McpApprovalObject["spec"]>;
      status?: McpApprovalObject["status"];
      metadata?: Partial<McpApprovalObject["metadata"]>;
    } = {},
  ): McpApprovalObject => ({
    apiVersion: "mcpwarden.io/v1alpha1",
    kind: "McpApproval",
    metadata: { name: "execute-flow-abcde", namespace: "agents", creationTimestamp: iso(0), ...over.metadata },
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
    status: "status" in over ? over.status : { decision: "Approved", decidedBy: "ops-alice", decidedAt: iso(30_000) },
  });

  it("binds to the policy, its generation, the grant, the session fingerprint and the argument digest", () => {
    assert.equal(binding.policy, "agents/kestra", "without Kubernetes, the policy's own name");
    assert.equal(binding.policyGeneration, 3);
    assert.match(binding.session ?? "", /^[0-9a-f]{16}$/);
    assert.notEqual(binding.session, "s-1", "never the session id itself");
  });

  it("accepts an approved, unused approval within its ttl, and says why anything else is not", async () => {
    const bound = { ...binding, policy: "kestra" };
    await t.clock.advance(60_000);
    assert.equal(t.approvals.unusable(approval(), bound, kube), undefined);
    const cases: Array<[McpApprovalObject, RegExp]> = [
      [approval({ spec: { argsDigest: "0".repeat(64) } }), /bound to another request \(argsDigest\)/],
      [
        approval({ spec: { caller: "bob", policyGeneration: 2 } }),
        /bound to another request \(policyGeneration, caller\)/,
      ],
      [approval({ spec: { session: undefined } }), /\(session\)/],
      [approval({ metadata: { deletionTimestamp: iso(1) } }), /being deleted/],
      [approval({ spec: { use: { at: iso(40_000), by: "kestra-1", via: "Kubernetes" } } }), /already used by kestra-1/],
      [approval({ status: undefined }), /not approved/],
      [approval({ status: { decision: "Denied", decidedBy: "ops-bob", decidedAt: iso(1) } }), /was denied/],
      [approval({ spec: { expiresAt: iso(86_400_000) } }), /expiry is later than the policy allows/],
      [
        approval({ status: { decision: "Approved", decidedBy: "x", decidedAt: iso(3_600_000) } }),
        /decision time is not credible/,
      ],
      [
        approval({ status: { decision: "Approved", decidedBy: "x", decidedAt: "not a time" } }),
        /decision time is not credible/,
      ],
    ];
    for (const [a, why] of cases) assert.match(t.approvals.unusable(a, bound, kube) ?? "usable", why);
    await t.clock.advance(580_000); // 640 s: past decidedAt + ttl (630 s), before expiry (660 s)
    assert.match(
      t.approvals.unusable(approval(), bound, kube) ?? "usable",
      /approved longer ago than the policy's ttl/,
    );
    await t.clock.advance(30_000); // 670 s: past expiry, though decided only 70 s ago
    assert.match(
      t.approvals.unusable(
        approval({ status: { decision: "Approved", decidedBy: "x", decidedAt: iso(600_000) } }),
        bound,
        kube,
      ) ?? "usable",
      /expired/,
    );
  });
});

describe("ElicitationBroker", () => {
  it("leaves answers to the upstream's own questions alone", () => {
    const broker = new ElicitationBroker();
    assert.equal(broker.deliver({ jsonrpc: "2.0", id: 3, result: {} }, "s", "g"), false);
    assert.equal(broker.deliver({ jsonrpc: "2.0", id: "upstream-7", result: {} }, "s", "g"), false);
    assert.equal(
      broker.deliver({ jsonrpc: "2.0", id: "mcp-warden-approval-unknown", result: {} }, "s", "g"),
      true,
      "ours by prefix: dropped, never forwarded",
    );
  });

  it("knows which clients can show a form", () => {
    assert.equal(supportsFormElicitation({ elicitation: {} }), true);
    assert.equal(supportsFormElicitation({ elicitation: { form: {} } }), true);
    assert.equal(supportsFormElicitation({ elicitation: { form: {}, url: {} } }), true);
    assert.equal(supportsFormElicitation({ elicitation: { url: {} } }), false);
    for (const c of [{}, { sampling: {} }, { elicitation: true }, { elicitation: [] }, null, "x"])
      assert.equal(supportsFormElicitation(c), false);
  });
});
