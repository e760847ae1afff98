// What must never unlock a call, on a real API server: approvals forged or edited by hand (another
// tool, caller, session, digest, policy or generation; an expiry longer than the policy allows;
// without the policy's label; in another namespace), an approval name the client claims, an answer to
// a question the sidecar never asked. Who may decide: nobody without RBAC on mcpapprovals/status
// (403), not a pod of the namespace, not in someone else's name, not the caller itself. And two
// sidecar replicas racing for one approval: exactly one call runs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { decideApproval, DecisionError } from "../../cli/approvals-decide.ts";
import { statusCodeOf } from "../../kube/api-errors.ts";
import { KubeHttp } from "../../kube/http.ts";
import { McpApprovalClient, parseApproval, type McpApprovalObject } from "../../kube/mcp-approvals.ts";
import { argumentsDigest } from "../../policy/approval/binding.ts";
import { sessionFingerprint } from "../../sidecar/sessions.ts";
import { KEYS, startHarness, startProxy, type Harness, type ProxyHarness } from "../support/sidecar-harness.ts";
import { messagesOf, rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";
import { startKestraDouble, type KestraDouble } from "../upstreams/kestra-double.ts";
import { startApprovalCluster, type ApprovalCluster } from "./fixture.ts";

const SPEC = {
  default: "deny",
  tools: [{ name: "restart_execution", action: "approve", approval: { timeout: "2s", ttl: "10m" } }],
};
const ALICE = { authorization: `Bearer ${KEYS.alice}` };
const MODERN = { "mcp-protocol-version": "2025-06-18" };
type Result = { isError?: boolean; content: { text: string }[] };
const resultOf = (answer: Awaited<ReturnType<typeof rawPost>>) => (messagesOf(answer)[0] as { result: Result }).result;
const textOf = (answer: Awaited<ReturnType<typeof rawPost>>) => resultOf(answer).content[0]?.text ?? "";
const approvalNamed = (t: string) => /Approval agents\/([a-z0-9-]+)/.exec(t)?.[1];

describe("approvals that must not unlock anything (real kube-apiserver)", { timeout: 240_000 }, () => {
  let k: ApprovalCluster;
  let h: Harness;
  let session: string;
  const post = (body: unknown) => rawPost(h.sidecar.url, body, { ...ALICE, ...MODERN, "mcp-session-id": session });
  const restarts = () => h.upstream.calls.filter((c) => c.tool === "restart_execution");

  /** Creates an approval by hand (as any pod of the namespace could) and has ops-alice approve it. */
  const forge = async (
    name: string,
    spec: Record<string, unknown>,
    options: { namespace?: string; labels?: Record<string, string> } = {},
  ) => {
    const namespace = options.namespace ?? "agents";
    const now = Date.now();
    const doc = {
      apiVersion: "mcpwarden.io/v1alpha1",
      kind: "McpApproval",
      metadata: { name, namespace, labels: options.labels ?? { "mcpwarden.io/policy": "kestra" } },
      spec: {
        policy: "kestra",
        policyGeneration: 1,
        tool: "restart_execution",
        caller: "apikey:alice",
        session: sessionFingerprint(session),
        args: "{}",
        waitUntil: new Date(now + 2_000).toISOString(),
        expiresAt: new Date(now + 600_000).toISOString(),
        ...spec,
      },
    };
    await k.cluster.kubectl(["apply", "-f", "-"], { input: stringify(doc) });
    if (namespace === "agents") await k.decide(name, "Approved");
    else await decideApproval(new KubeHttp(k.cluster.kubeConfig), { namespace, name, decision: "Approved" });
  };

  before(async () => {
    k = await startApprovalCluster("approvals-bad-input");
    await k.applyPolicy(SPEC);
    h = await startHarness({
      policy: "-",
      config: { policy: "k8s://agents/kestra" },
      sidecar: { kubeConfig: k.sidecarKubeConfig, podName: "kestra-0" },
    });
    session = await rawInitialize(h.sidecar.url, ALICE, "2025-06-18");
  });
  after(async () => {
    await h?.close();
    await k?.stop();
  });

  it("ignores approved approvals bound to anything but this exact request, or from another namespace", async () => {
    const args = { namespace: "prod", flow_id: "f", execution_id: "forged" };
    const digest = argumentsDigest(args);
    await forge("other-tool", { tool: "execute_flow", argsDigest: digest });
    await forge("other-caller", { caller: "apikey:bob", argsDigest: digest });
    await forge("same-name-other-method", { caller: "jwt:alice", argsDigest: digest });
    await forge("other-session", { session: "0000000000000000", argsDigest: digest });
    await forge("tampered-digest", { argsDigest: argumentsDigest({ ...args, execution_id: "something-else" }) });
    await forge("old-generation", { policyGeneration: 2, argsDigest: digest });
    await forge("other-policy", { policy: "other", argsDigest: digest });
    await forge("long-lived", { argsDigest: digest, expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    await forge("unlabelled", { argsDigest: digest }, { labels: {} });
    await forge("elsewhere", { argsDigest: digest }, { namespace: "elsewhere" });
    const answer = textOf(await post(toolCall(1, "restart_execution", args)));
    assert.match(answer, /^\[APPROVAL REQUIRED\]/);
    const fresh = approvalNamed(answer);
    assert.match(fresh ?? "", /^restart-execution-/, "a new approval was requested instead");
    assert.equal(restarts().length, 0);

    // The sidecar's lookup works: the approval it requested does let the same call through.
    await k.decide(fresh as string, "Approved");
    assert.equal(resultOf(await post(toolCall(2, "restart_execution", args))).isError, undefined);
    assert.equal(restarts().length, 1);
  });

  it("cannot be re-pointed: a pod of the namespace may record a use but not change the request", async () => {
    const args = { namespace: "prod", flow_id: "f", execution_id: "tamper" };
    const name = approvalNamed(textOf(await post(toolCall(3, "restart_execution", args)))) as string;
    const asPod = new McpApprovalClient(new KubeHttp(k.sidecarKubeConfig));
    const parsed = parseApproval(await asPod.get("agents", name));
    assert.ok(parsed.ok);
    const other = { ...args, execution_id: "something-worse" };
    await assert.rejects(
      asPod.replace({ ...parsed.approval, spec: { ...parsed.approval.spec, argsDigest: argumentsDigest(other) } }),
      /the request an approval is for cannot change/,
    );
    await k.decide(name, "Approved");
    assert.match(textOf(await post(toolCall(4, "restart_execution", other))), /^\[APPROVAL REQUIRED\]/);
    assert.equal(restarts().filter((c) => c.arguments.execution_id === "something-worse").length, 0);
  });

  it("pays no attention to an approval name the client claims, or to answers to questions never asked", async () => {
    const approved = (await k.approvals()).find(
      (a) => a.status?.decision === "Approved" && !a.spec.use && a.metadata.name.startsWith("restart-execution-"),
    ) as McpApprovalObject;
    assert.ok(approved, "an approved, unused approval exists (for other arguments)");
    const claim = toolCall(
      5,
      "restart_execution",
      { namespace: "prod", flow_id: "f", execution_id: "claimed" },
      { _meta: { "mcpwarden.io/approval": approved.metadata.name, approval: `agents/${approved.metadata.name}` } },
    );
    assert.match(textOf(await post(claim)), /^\[APPROVAL REQUIRED\]/);
    const requestsBefore = h.upstream.requests.length;
    const fake = await post({
      jsonrpc: "2.0",
      id: "mcp-warden-approval-AAAAAAAAAAAAAAAAAAAAAA",
      result: { action: "accept", content: { approve: true } },
    });
    assert.equal(fake.status, 202);
    assert.equal(h.upstream.requests.length, requestsBefore, "an answer in the sidecar's id space is never forwarded");
    assert.equal(restarts().filter((c) => c.arguments.execution_id === "claimed").length, 0);
  });

  it("refuses decisions without RBAC on mcpapprovals/status (403), from pods of the namespace, in someone else's name, or by the caller", async () => {
    const name = approvalNamed(
      textOf(await post(toolCall(6, "restart_execution", { namespace: "prod", flow_id: "f", execution_id: "rbac" }))),
    ) as string;
    const current = parseApproval(await k.admin.get("agents", name));
    assert.ok(current.ok);
    const decided = (by: string): McpApprovalObject => ({
      ...current.approval,
      status: { decision: "Approved", decidedBy: by, decidedAt: new Date().toISOString() },
    });

    // ops-carol may read approvals but was given nothing on their status.
    await k.apply([
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "approval-reader", namespace: "agents" },
        rules: [{ apiGroups: ["mcpwarden.io"], resources: ["mcpapprovals"], verbs: ["get", "list"] }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "approval-reader", namespace: "agents" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "approval-reader" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "ops-carol" }],
      },
    ]);
    const carol = await k.cluster.userCredentials("ops-carol");
    await assert.rejects(
      new McpApprovalClient(new KubeHttp(carol.kubeConfig)).replaceStatus(decided("ops-carol")),
      (e: unknown) => statusCodeOf(e) === 403,
    );
    await assert.rejects(
      decideApproval(new KubeHttp(carol.kubeConfig), { namespace: "agents", name, decision: "Approved" }),
      (e: unknown) =>
        e instanceof DecisionError &&
        /you \(ops-carol\) may not decide McpApprovals in namespace agents.*--clusterrole=mcp-warden-approver --user=ops-carol -n agents/.test(
          e.message,
        ),
    );
    await assert.rejects(
      decideApproval(new KubeHttp(k.outsider.kubeConfig), { namespace: "agents", name, decision: "Approved" }),
      (e: unknown) => e instanceof DecisionError && /may not read McpApprovals in namespace agents/.test(e.message),
    );
    // Every pod of the namespace holds the sidecar Role: it can use approvals, never decide them.
    await assert.rejects(
      new McpApprovalClient(new KubeHttp(k.sidecarKubeConfig)).replaceStatus(
        decided("system:serviceaccount:agents:default"),
      ),
      (e: unknown) => statusCodeOf(e) === 403,
    );
    // The API server checks the approver's name itself (ValidatingAdmissionPolicy).
    const asAlice = new McpApprovalClient(new KubeHttp(k.approver.kubeConfig));
    await assert.rejects(
      asAlice.replaceStatus(decided("the-cto")),
      /status\.decidedBy must be the user deciding \(ops-alice\), not the-cto/,
    );
    // Whatever identity method named the caller: the grant is the user name behind its method's prefix.
    for (const [i, caller] of ["ops-alice", "apikey:ops-alice", "jwt:ops-alice", "k8s:ops-alice"].entries()) {
      await assert.rejects(
        forge(`self-approval-${i}`, { caller, argsDigest: "c".repeat(64) }),
        /a caller cannot decide the approval of its own tool call/,
        caller,
      );
      assert.equal((await k.approvalWhere((a) => a.metadata.name === `self-approval-${i}`)).status, undefined);
    }
    assert.equal(
      (await k.approvalWhere((a) => a.metadata.name === name)).status,
      undefined,
      "nothing above decided it",
    );
  });
});

describe("two sidecar replicas and one approval (real kube-apiserver)", { timeout: 240_000 }, () => {
  let k: ApprovalCluster;
  const replicas: Array<{ proxy: ProxyHarness; upstream: KestraDouble }> = [];

  before(async () => {
    k = await startApprovalCluster("approvals-replicas");
    await k.applyPolicy(SPEC);
    for (const pod of ["kestra-0", "kestra-1"]) {
      // Stateless, as 2026-07-28 servers and FastMCP's stateless mode run: no session in the binding,
      // so a retry can land on any replica.
      const upstream = await startKestraDouble({ sessions: false });
      const proxy = await startProxy(upstream.url, {
        policy: "-",
        config: { policy: "k8s://agents/kestra" },
        sidecar: { kubeConfig: k.sidecarKubeConfig, podName: pod },
      });
      replicas.push({ proxy, upstream });
    }
  });
  after(async () => {
    for (const r of replicas) {
      await r.proxy.close();
      await r.upstream.close();
    }
    await k?.stop();
  });

  it("forwards exactly one of many concurrent retries across both replicas", async () => {
    const args = { namespace: "prod", flow_id: "f", execution_id: "race" };
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const first = textOf(
      await rawPost(a.proxy.sidecar.url, toolCall(1, "restart_execution", args), { ...ALICE, ...MODERN }),
    );
    const name = approvalNamed(first) as string;
    assert.ok(name, first);
    assert.equal((await k.approvalWhere((x) => x.metadata.name === name)).spec.session, undefined);
    await k.decide(name, "Approved");
    // Both replicas have seen the decision before the race starts.
    await Promise.all(replicas.map((r) => waitForDecision(r.proxy, name)));
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        rawPost((i % 2 === 0 ? a : b).proxy.sidecar.url, toolCall(10 + i, "restart_execution", args), {
          ...ALICE,
          ...MODERN,
        }),
      ),
    );
    const ran = answers.filter((x) => resultOf(x).isError === undefined);
    assert.equal(ran.length, 1, answers.map(textOf).join("\n"));
    assert.equal(a.upstream.calls.length + b.upstream.calls.length, 1);
    const used = await k.approvalWhere((x) => x.metadata.name === name);
    assert.ok(["kestra-0", "kestra-1"].includes(used.spec.use?.by ?? ""));
    for (const other of answers.filter((x) => resultOf(x).isError))
      assert.match(textOf(other), /^\[APPROVAL REQUIRED\]/);
  });
});

async function waitForDecision(proxy: ProxyHarness, name: string): Promise<void> {
  await proxy.sidecar.approvals.kubernetes?.ready(); // a replica starts its watch with its first approval call
  const deadline = Date.now() + 20_000;
  while (proxy.sidecar.approvals.kubernetes?.get(name)?.status?.decision !== "Approved") {
    if (Date.now() > deadline) throw new Error(`the sidecar never saw ${name} approved`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
