import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PolicyIndex, policyEntry } from "../policy-index.ts";
import { findConflicts, governedBy } from "./conflicts.ts";
import { computePolicyStatus, fixes, sameStatus, type StatusInput } from "./policy-status.ts";
import { summarizePod, type PodSummary } from "./pod-summary.ts";

const t0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const status = (policy: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: 1,
    policy,
    sidecar: "mcp-warden",
    image: "i",
    container: "server",
    profile: "generic",
    port: { name: "http", number: 8080 },
    upstreamPort: 8000,
    adminPort: 9090,
    volumes: [],
    ...extra,
  });

function pod(
  name: string,
  options: {
    labels?: Record<string, string>;
    injectedFor?: string;
    owner?: { kind: string; name: string };
    hostNetwork?: boolean;
    phase?: string;
    ports?: number[];
  } = {},
): PodSummary {
  return summarizePod({
    metadata: {
      name,
      namespace: "agents",
      uid: `uid-${name}`,
      labels: options.labels ?? { app: "kestra" },
      ...(options.injectedFor ? { annotations: { "mcpwarden.io/status": status(options.injectedFor) } } : {}),
      ...(options.owner ? { ownerReferences: [{ ...options.owner, controller: true }] } : {}),
    },
    spec: {
      hostNetwork: options.hostNetwork,
      initContainers: options.injectedFor ? [{ name: "mcp-warden" }] : [],
      containers: [{ name: "server", ports: (options.ports ?? []).map((containerPort) => ({ containerPort })) }],
    },
    status: { phase: options.phase ?? "Running" },
  });
}

const base = (overrides: Partial<StatusInput> = {}): StatusInput => ({
  name: "kestra",
  namespace: "agents",
  generation: 3,
  previous: undefined,
  compilation: { ok: true, digest: "abc123def456" },
  namespaceEnabled: true,
  hasSelector: true,
  pods: [],
  conflicts: [],
  now: t0,
  ...overrides,
});

const condition = (s: ReturnType<typeof computePolicyStatus>, type: string) =>
  s.conditions?.find((c) => c.type === type);

describe("computePolicyStatus", () => {
  it("is Ready/Accepted with counts, digest and observedGeneration when all pods enforce it", () => {
    const s = computePolicyStatus(
      base({ pods: [pod("a", { injectedFor: "kestra" }), pod("b", { injectedFor: "kestra" })] }),
    );
    assert.equal(s.observedGeneration, 3);
    assert.deepEqual([s.selectedPods, s.enforcedPods, s.unguardedPods], [2, 2, []]);
    assert.equal(s.policyDigest, "abc123def456");
    assert.deepEqual(condition(s, "Ready"), {
      type: "Ready",
      status: "True",
      reason: "Accepted",
      message: "Policy compiled (digest abc123def456); 2 of 2 selected pods enforce it.",
      observedGeneration: 3,
      lastTransitionTime: "2026-03-01T09:00:00Z",
    });
    assert.equal(condition(s, "PodsEnforced")?.reason, "AllPodsEnforced");
  });

  it("reports rule errors with their field paths as InvalidRule, without a digest", () => {
    const s = computePolicyStatus(
      base({
        compilation: {
          ok: false,
          problems: [{ path: ["spec", "tools", 2, "require", 0], message: "Syntax error: mismatched input" }],
        },
      }),
    );
    const ready = condition(s, "Ready");
    assert.equal(ready?.status, "False");
    assert.equal(ready?.reason, "InvalidRule");
    assert.match(ready?.message ?? "", /^spec\.tools\[2\]\.require\[0\]: Syntax error/);
    assert.equal(s.policyDigest, undefined);
  });

  it("names the conflicting policy and pod as ConflictingSelector", () => {
    const s = computePolicyStatus(
      base({
        conflicts: [
          { policy: "audit", pod: "kestra-7d9-x" },
          { policy: "copy", pod: undefined },
        ],
      }),
    );
    assert.equal(condition(s, "Ready")?.reason, "ConflictingSelector");
    assert.match(
      condition(s, "Ready")?.message ?? "",
      /McpPolicy audit also selects pod kestra-7d9-x; McpPolicy copy has the same podSelector/,
    );
  });

  it("says how to label the namespace when injection is off there", () => {
    const s = computePolicyStatus(base({ namespaceEnabled: false }));
    assert.equal(condition(s, "Ready")?.reason, "InjectionDisabled");
    assert.match(
      condition(s, "Ready")?.message ?? "",
      /kubectl label namespace agents mcpwarden\.io\/injection=enabled/,
    );
  });

  it("lists pods without the sidecar with the command that restarts their workload", () => {
    const s = computePolicyStatus(
      base({
        pods: [
          pod("kestra-7d9f8b6c5d-abcde", {
            labels: { app: "kestra", "pod-template-hash": "7d9f8b6c5d" },
            owner: { kind: "ReplicaSet", name: "kestra-7d9f8b6c5d" },
          }),
          pod("kestra-0", { owner: { kind: "StatefulSet", name: "kestra" } }),
          pod("other-policy", { injectedFor: "older" }),
          pod("ok", { injectedFor: "kestra" }),
          pod("host", { hostNetwork: true }),
        ],
      }),
    );
    assert.deepEqual([s.selectedPods, s.enforcedPods], [5, 1]);
    assert.deepEqual(s.unguardedPods, ["host", "kestra-0", "kestra-7d9f8b6c5d-abcde", "other-policy"]);
    const c = condition(s, "PodsEnforced");
    assert.equal(c?.status, "False");
    assert.equal(c?.reason, "PodsWithoutSidecar");
    assert.match(c?.message ?? "", /kubectl rollout restart deployment\/kestra -n agents/);
    assert.match(c?.message ?? "", /kubectl rollout restart statefulset\/kestra -n agents/);
    assert.match(c?.message ?? "", /host uses hostNetwork/);
  });

  it("caps the unguarded list at 20 names", () => {
    const pods = Array.from({ length: 25 }, (_, i) => pod(`p${String(i).padStart(2, "0")}`));
    const s = computePolicyStatus(base({ pods }));
    assert.equal(s.unguardedPods?.length, 20);
    assert.equal(s.selectedPods, 25);
  });

  it("warns when an enforced pod's MCP container declares the upstream port", () => {
    const s = computePolicyStatus(base({ pods: [pod("a", { injectedFor: "kestra", ports: [8000] })] }));
    const c = condition(s, "UpstreamPortExposed");
    assert.equal(c?.status, "True");
    assert.match(c?.message ?? "", /declares port 8000/);
    assert.equal(
      condition(computePolicyStatus(base({ pods: [pod("a", { injectedFor: "kestra" })] })), "UpstreamPortExposed")
        ?.status,
      "False",
    );
  });

  it("keeps lastTransitionTime while a condition's status holds, and moves it when it flips", () => {
    const first = computePolicyStatus(base());
    const later = computePolicyStatus(
      base({ previous: first, now: t0 + 60_000, pods: [pod("a", { injectedFor: "kestra" })] }),
    );
    assert.equal(condition(later, "Ready")?.lastTransitionTime, "2026-03-01T09:00:00Z", "still True");
    const broken = computePolicyStatus(base({ previous: later, now: t0 + 120_000, namespaceEnabled: false }));
    assert.equal(condition(broken, "Ready")?.lastTransitionTime, "2026-03-01T09:02:00Z");
    assert.ok(
      sameStatus(
        later,
        computePolicyStatus(base({ previous: later, now: t0 + 180_000, pods: [pod("a", { injectedFor: "kestra" })] })),
      ),
      "nothing to write when nothing changed",
    );
    assert.ok(!sameStatus(later, broken));
  });
});

describe("fixes", () => {
  it("restarts each workload once and deletes bare pods", () => {
    const pods = [
      pod("web-5b6c7d8e9f-a", {
        labels: { "pod-template-hash": "5b6c7d8e9f" },
        owner: { kind: "ReplicaSet", name: "web-5b6c7d8e9f" },
      }),
      pod("web-5b6c7d8e9f-b", {
        labels: { "pod-template-hash": "5b6c7d8e9f" },
        owner: { kind: "ReplicaSet", name: "web-5b6c7d8e9f" },
      }),
      pod("job-x", { owner: { kind: "Job", name: "nightly" } }),
      pod("bare"),
    ];
    assert.deepEqual(fixes(pods, "agents"), [
      "kubectl rollout restart deployment/web -n agents",
      "kubectl delete pod job-x -n agents (its Job nightly recreates it)",
      "kubectl delete pod bare -n agents and create it again",
    ]);
  });
});

describe("findConflicts", () => {
  const index = new PolicyIndex();
  const entry = (name: string, selector: unknown) =>
    policyEntry({ metadata: { name, namespace: "agents" }, spec: { podSelector: selector } });
  for (const e of [
    entry("a", { matchLabels: { app: "kestra" } }),
    entry("b", { matchExpressions: [{ key: "app", operator: "In", values: ["kestra", "other"] }] }),
    entry("c", { matchLabels: { app: "solo" } }),
    entry("d", { matchLabels: { tier: "x" } }),
    entry("e", { matchLabels: { tier: "x" } }),
  ])
    index.set(e);

  it("finds overlaps by a pod both select, and by identical selectors before any pod exists", () => {
    const pods = [
      pod("k1"),
      pod("k2"),
      pod("s", { labels: { app: "solo" } }),
      pod("done", { labels: { app: "solo", tier: "x" }, phase: "Succeeded" }),
    ];
    const conflicts = findConflicts(index.inNamespace("agents"), pods);
    assert.deepEqual(conflicts.get("a"), [{ policy: "b", pod: "k1" }]);
    assert.deepEqual(conflicts.get("b"), [{ policy: "a", pod: "k1" }]);
    assert.equal(conflicts.get("c"), undefined);
    assert.deepEqual(conflicts.get("d"), [{ policy: "e", pod: undefined }]);
  });

  it("ignores opted-out pods, which no policy governs", () => {
    const optedOut = pod("k", { labels: { app: "kestra", "mcpwarden.io/inject": "false" } });
    assert.equal(findConflicts(index.inNamespace("agents"), [optedOut]).get("a"), undefined);
    assert.deepEqual(
      governedBy(index.get("agents", "a")!, [optedOut, pod("k2")]).map((p) => p.metadata.name),
      ["k2"],
    );
  });
});
