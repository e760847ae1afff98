// The operator's approval controller on a real API server, running as the operator's own service
// account with exactly its rendered RBAC: Events for each step, mcp_warden_approvals_total{outcome}
// and mcp_warden_approvals_pending, expired approvals deleted, and a new leader that does not count
// again what the previous one counted.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { systemClock } from "../../kube/clock.ts";
import { silentLogger } from "../../kube/logger.ts";
import { EventRecorder, eventsApiFor } from "../../kube/event-recorder.ts";
import { KubeHttp } from "../../kube/http.ts";
import { McpApprovalClient, parseApproval } from "../../kube/mcp-approvals.ts";
import { ApprovalController } from "../../operator/approvals/approval-controller.ts";
import { createOperatorMetrics, type OperatorMetrics } from "../../operator/metrics.ts";
import { DEFAULT_OPERATOR_NAMES as N, renderOperatorRbac } from "../../operator/rbac/operator-rbac.ts";
import { type Credentials } from "../cluster/harness.ts";
import { metricValue } from "../support/sidecar-harness.ts";
import { startApprovalCluster, type ApprovalCluster } from "./fixture.ts";
import { eventually } from "../support/eventually.ts";

describe(
  "operator: approval Events, metrics and expiry (real kube-apiserver, operator RBAC)",
  { timeout: 240_000 },
  () => {
    let k: ApprovalCluster;
    let operator: Credentials;
    let asSidecar: McpApprovalClient;
    const running: Array<{ stop: AbortController; done: Promise<void> }> = [];

    const start = (metrics: OperatorMetrics) => {
      const http = new KubeHttp(operator.kubeConfig);
      const events = new EventRecorder(eventsApiFor(operator.kubeConfig), {
        component: "mcp-warden-operator",
        instance: "op-test",
      });
      const controller = new ApprovalController({ http, clock: systemClock, logger: silentLogger, metrics, events });
      const stop = new AbortController();
      const done = controller.run(stop.signal);
      running.push({ stop, done });
      return {
        controller,
        stop: async () => {
          stop.abort();
          await done;
          await events.flush();
        },
      };
    };
    const value = async (metrics: OperatorMetrics, name: string, labels: Record<string, string> = {}) =>
      metricValue(await metrics.registry.metrics(), name, labels);
    const request = async (name: string, life: { waitMs: number; expireMs: number }) => {
      const now = Date.now();
      await asSidecar.create("agents", {
        metadata: { name, labels: { "mcpwarden.io/policy": "kestra" } },
        spec: {
          policy: "kestra",
          policyGeneration: 1,
          tool: "execute_flow",
          caller: "alice",
          argsDigest: "d".repeat(64),
          args: `{"flow_id":"${name}"}`,
          waitUntil: new Date(now + life.waitMs).toISOString(),
          expiresAt: new Date(now + life.expireMs).toISOString(),
        },
      });
    };
    const use = async (name: string) => {
      const parsed = parseApproval(await asSidecar.get("agents", name));
      assert.ok(parsed.ok);
      await asSidecar.replace({
        ...parsed.approval,
        spec: { ...parsed.approval.spec, use: { at: new Date().toISOString(), by: "kestra-0", via: "Kubernetes" } },
      });
    };
    const eventsFor = async (name: string) =>
      (
        await k.cluster
          .client(CoreV1Api)
          .listNamespacedEvent({ namespace: "agents", fieldSelector: `involvedObject.name=${name}` })
      ).items.map((e) => `${e.reason}: ${e.message}`);
    const exists = async (name: string) => (await k.approvals()).some((a) => a.metadata.name === name);

    before(async () => {
      k = await startApprovalCluster("approvals-operator");
      await k.cluster.createNamespace(N.namespace);
      await k.cluster
        .client(CoreV1Api)
        .createNamespacedServiceAccount({ namespace: N.namespace, body: { metadata: { name: N.serviceAccount } } });
      await k.cluster.kubectl(["apply", "-f", "-"], {
        input: renderOperatorRbac()
          .map((d) => stringify(d))
          .join("---\n"),
      });
      operator = await k.cluster.serviceAccountCredentials(N.namespace, N.serviceAccount);
      asSidecar = new McpApprovalClient(new KubeHttp(k.sidecarKubeConfig));
    });
    after(async () => {
      for (const r of running) r.stop.abort();
      await Promise.all(running.map((r) => r.done));
      await k?.stop();
    });

    it("counts and reports each outcome once, keeps the pending gauge, and deletes approvals at expiry", async () => {
      const metrics = createOperatorMetrics({ version: "test", defaultMetrics: false });
      const controller = start(metrics);
      try {
        // Approvals that exist before the controller's first list are not new to it: wait for it.
        await eventually(() => assert.ok(controller.controller.live));
        await countsEachOutcome(metrics);
      } finally {
        await controller.stop();
      }
    });

    const countsEachOutcome = async (metrics: OperatorMetrics) => {
      await eventually(async () => assert.equal(await value(metrics, "mcp_warden_approvals_pending"), 0));

      await request("nobody-decides", { waitMs: 1_000, expireMs: 3_000 });
      // The decided ones wait longer than they live, so a slow machine cannot end their wait before
      // the decision arrives (which would rightly count as timed_out too).
      await request("approved-used", { waitMs: 60_000, expireMs: 5_000 });
      await request("denied", { waitMs: 60_000, expireMs: 5_000 });
      await request("approved-unused", { waitMs: 60_000, expireMs: 5_000 });
      await eventually(async () => assert.equal(await value(metrics, "mcp_warden_approvals_pending"), 4));
      await k.decide("approved-used", "Approved", "ticket 7");
      await use("approved-used");
      await k.decide("denied", "Denied", "no");
      await k.decide("approved-unused", "Approved");

      await eventually(
        async () => {
          for (const name of ["nobody-decides", "approved-used", "denied", "approved-unused"])
            assert.equal(await exists(name), false, `${name} still exists`);
        },
        { timeoutMs: 30_000 },
      );
      const outcomes: Record<string, number | undefined> = {};
      for (const o of ["approved", "denied", "used", "timed_out", "expired"])
        outcomes[o] = await value(metrics, "mcp_warden_approvals_total", { outcome: o });
      assert.deepEqual(outcomes, { approved: 2, denied: 1, used: 1, timed_out: 1, expired: 2 });
      assert.equal(await value(metrics, "mcp_warden_approvals_pending"), 0);
      assert.equal(
        await value(metrics, "mcp_warden_approval_decision_duration_seconds_count", { decision: "approved" }),
        2,
      );

      const nobody = await eventsFor("nobody-decides");
      assert.ok(
        nobody.some((e) =>
          /^Requested: alice asks to call execute_flow with \{"flow_id":"nobody-decides"\}\. To approve: kubectl mcp-warden approvals approve nobody-decides -n agents$/.test(
            e,
          ),
        ),
        nobody.join("\n"),
      );
      assert.ok(nobody.some((e) => e.startsWith("WaitTimedOut: No decision within the agent's wait")));
      assert.ok(nobody.some((e) => /^Expired: Expired at .*, never decided; deleted$/.test(e)));
      assert.deepEqual((await eventsFor("approved-used")).filter((e) => !e.startsWith("Requested")).sort(), [
        "Approved: Approved by ops-alice: ticket 7",
        "Used: The call was forwarded by kestra-0 (approved here)",
      ]);
      assert.ok((await eventsFor("denied")).includes("Denied: Denied by ops-alice: no"));
      await eventually(async () =>
        assert.ok((await eventsFor("approved-unused")).some((e) => /approved but never used; deleted$/.test(e))),
      );
    };

    it("a new leader counts only what happens under it, and still cleans up what expires", async () => {
      await request("before-failover", { waitMs: 500, expireMs: 6_000 });
      await k.decide("before-failover", "Approved");
      await new Promise((r) => setTimeout(r, 600)); // its wait is over before the new leader starts
      const metrics = createOperatorMetrics({ version: "test", defaultMetrics: false });
      const controller = start(metrics);
      try {
        await eventually(async () => assert.equal(await exists("before-failover"), false), { timeoutMs: 30_000 });
        assert.equal(
          await value(metrics, "mcp_warden_approvals_total", { outcome: "approved" }),
          0,
          "decided before this leader: not counted again",
        );
        assert.equal(await value(metrics, "mcp_warden_approvals_total", { outcome: "timed_out" }), 0);
        assert.equal(
          await value(metrics, "mcp_warden_approvals_total", { outcome: "expired" }),
          1,
          "the replica that deletes it counts the expiry",
        );
      } finally {
        await controller.stop();
      }
    });
  },
);
