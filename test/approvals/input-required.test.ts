// 2026-07-28 approvals bound to an McpApproval (ADR 0708), against a real kube-apiserver: an SDK v2
// client approving through inputResponses is recorded on the McpApproval as approved at the client; a
// person's kubectl approval lets the client's retry through; a requestState replayed on a second
// replica (same key, same API server, memory rate-limit store) is refused because the McpApproval
// records its one use. Judged by the tools the upstream ran.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { argumentsDigest } from "../../policy/approval/binding.ts";
import { APPROVAL_INPUT_KEY } from "../../sidecar/approvals/request-state.ts";
import { messagesOf, rawPost } from "../support/raw-mcp.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { startV2Server, type V2Server } from "../upstreams/sdk-v2-server.ts";
import { startApprovalCluster, type ApprovalCluster } from "./fixture.ts";
import { eventually } from "../support/eventually.ts";

const MODERN = "2026-07-28";
const SPEC = {
  default: "allow",
  tools: [
    { name: "greet", action: "approve", approval: { via: "both", timeout: "60s", ttl: "5m" } },
    { name: "wipe", action: "approve", approval: { via: "kubernetes", timeout: "60s", ttl: "5m" } },
  ],
};
const meta = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } },
};
type Result = Record<string, unknown> & {
  content?: { text: string }[];
  isError?: boolean;
  _meta?: Record<string, { approval: string }>;
};
const approve = { [APPROVAL_INPUT_KEY]: { action: "accept", content: { approve: true } } };

async function post(
  url: string,
  tool: string,
  args: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<Result> {
  const body = {
    jsonrpc: "2.0",
    id: 7,
    method: "tools/call",
    params: { name: tool, arguments: args, ...extra, _meta: meta },
  };
  const answer = await rawPost(url, body, {
    authorization: `Bearer ${KEYS.alice}`,
    "mcp-protocol-version": MODERN,
    "mcp-method": "tools/call",
    "mcp-name": tool,
  });
  return (messagesOf(answer)[0] as { result: Result }).result;
}

describe(
  "2026-07-28 approvals through the McpApproval (real kube-apiserver, two replicas)",
  { timeout: 240_000 },
  () => {
    let k: ApprovalCluster;
    let server: V2Server;
    let replicas: ProxyHarness[] = [];
    const ran = (tool: string) => server.calls.filter((c) => c === tool).length;
    const connect = async (url: string, answer: "approve" | "never"): Promise<Client> => {
      const client = new Client(
        { name: "v2-agent", version: "1.0.0" },
        { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: MODERN } } },
      );
      client.setRequestHandler("elicitation/create", () =>
        answer === "approve" ? { action: "accept", content: { approve: true } } : new Promise(() => undefined),
      );
      await client.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } },
        }),
      );
      return client;
    };

    before(async () => {
      k = await startApprovalCluster("approvals-input-required");
      await k.applyPolicy(SPEC);
      server = await startV2Server("json");
      const key = join(k.cluster.dir, "approval-state-key");
      writeFileSync(key, randomBytes(32));
      // No rateLimit store in the policy: each replica has its own memory store.
      replicas = await Promise.all(
        ["kestra-0", "kestra-1"].map((podName) =>
          startProxy(server.url, {
            policy: "-",
            config: { policy: "k8s://agents/kestra", approvalStateKeyFile: key },
            sidecar: { kubeConfig: k.sidecarKubeConfig, podName },
          }),
        ),
      );
    });
    after(async () => {
      await Promise.all(replicas.map((r) => r.close()));
      await server?.close();
      await k?.stop();
    });

    it("an SDK v2 client approves through inputResponses; the McpApproval records the use as approved at the client", async () => {
      const [a] = replicas as [ProxyHarness];
      const client = await connect(a.sidecar.url, "approve");
      const before = ran("greet");
      const result = await client.callTool({ name: "greet", arguments: { who: "ada" } });
      assert.deepEqual(result.content, [{ type: "text", text: "hello ada" }]);
      assert.equal(ran("greet"), before + 1);
      const approval = await k.approvalWhere(
        (x) => x.spec.tool === "greet" && x.spec.argsDigest === argumentsDigest({ who: "ada" }),
      );
      assert.deepEqual(
        {
          via: approval.spec.use?.via,
          by: approval.spec.use?.by,
          decision: approval.status?.decision,
          caller: approval.spec.caller,
        },
        { via: "Elicitation", by: "kestra-0", decision: undefined, caller: "apikey:alice" },
      );
      await client.close();
      await eventually(
        () => a.logs.auditLines.some((l) => l.tool === "greet" && l.reason === "approved"),
        "audit line of the approved call",
      );
      const audit = a.logs.auditLines.find((l) => l.tool === "greet" && l.reason === "approved");
      assert.deepEqual(audit?.approval, {
        name: `agents/${approval.metadata.name}`,
        via: "Elicitation",
        decidedBy: "apikey:alice (at the client)",
      });
    });

    it("a person's kubectl approval lets the v2 client's retry through (via kubernetes), once", async () => {
      const [a] = replicas as [ProxyHarness];
      const client = await connect(a.sidecar.url, "never");
      const before = ran("wipe");
      const pending = client.callTool({ name: "wipe", arguments: {} }, { timeout: 60_000 });
      const approval = await k.approvalWhere((x) => x.spec.tool === "wipe" && !x.spec.use);
      assert.equal(ran("wipe"), before, "nothing ran before the decision");
      await k.decide(approval.metadata.name, "Approved");
      const result = await pending;
      assert.deepEqual(result.content, [{ type: "text", text: "wiped" }]);
      assert.equal(ran("wipe"), before + 1);
      const used = await k.approvalWhere((x) => x.metadata.name === approval.metadata.name && x.spec.use !== undefined);
      assert.deepEqual(
        { via: used.spec.use?.via, decision: used.status?.decision, by: used.status?.decidedBy },
        { via: "Kubernetes", decision: "Approved", by: "ops-alice" },
      );
      await client.close();
    });

    it("with via both, a kubectl approval decides a retry that carries no answer, issued on one replica and retried on the other", async () => {
      const [a, b] = replicas as [ProxyHarness, ProxyHarness];
      const asked = await post(a.sidecar.url, "greet", { who: "kim" });
      assert.equal(asked.resultType, "input_required");
      const name = asked._meta?.[APPROVAL_INPUT_KEY]?.approval ?? "";
      assert.match(name, /^agents\/greet-/);
      const before = ran("greet");
      const retry = post(b.sidecar.url, "greet", { who: "kim" }, { requestState: asked.requestState });
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(ran("greet"), before, "the retry waits for the decision");
      await k.decide(name.slice("agents/".length), "Approved");
      assert.deepEqual((await retry).content, [{ type: "text", text: "hello kim" }]);
      assert.equal(ran("greet"), before + 1);
    });

    it("a kubectl denial and a decline at the client both refuse the retry, and nothing runs", async () => {
      const [a, b] = replicas as [ProxyHarness, ProxyHarness];
      const before = ran("greet");
      const asked = await post(a.sidecar.url, "greet", { who: "eve" });
      const name = (asked._meta?.[APPROVAL_INPUT_KEY]?.approval ?? "").slice("agents/".length);
      await k.decide(name, "Denied", "not on a Friday");
      const denied = await post(
        b.sidecar.url,
        "greet",
        { who: "eve" },
        { requestState: asked.requestState, inputResponses: approve },
      );
      assert.match(
        denied.content?.[0]?.text ?? "",
        /^\[POLICY DENIED\] Approval agents\/greet-.* was denied by ops-alice: not on a Friday/,
      );
      const declinedAsk = await post(a.sidecar.url, "greet", { who: "sam" });
      const declined = await post(
        b.sidecar.url,
        "greet",
        { who: "sam" },
        { requestState: declinedAsk.requestState, inputResponses: { [APPROVAL_INPUT_KEY]: { action: "decline" } } },
      );
      assert.match(declined.content?.[0]?.text ?? "", /did not approve this call to 'greet'/);
      assert.equal(ran("greet"), before, "nothing ran");
    });

    it("a requestState replayed on the second replica (memory rate-limit store) is refused, as are forged and edited ones", async () => {
      const [a, b] = replicas as [ProxyHarness, ProxyHarness];
      const asked = await post(a.sidecar.url, "greet", { who: "lin" });
      const state = asked.requestState as string;
      const again = await post(a.sidecar.url, "greet", { who: "lin" });
      assert.equal(
        again._meta?.[APPROVAL_INPUT_KEY]?.approval,
        asked._meta?.[APPROVAL_INPUT_KEY]?.approval,
        "the same request reuses its McpApproval",
      );
      const before = ran("greet");
      const first = await post(
        a.sidecar.url,
        "greet",
        { who: "lin" },
        { requestState: state, inputResponses: approve },
      );
      assert.deepEqual(first.content, [{ type: "text", text: "hello lin" }]);
      for (const replica of [b, a]) {
        const replay = await post(
          replica.sidecar.url,
          "greet",
          { who: "lin" },
          { requestState: state, inputResponses: approve },
        );
        assert.equal(replay.isError, true, JSON.stringify(replay));
        assert.match(replay.content?.[0]?.text ?? "", /already been used/);
      }
      const forged = `${state.slice(0, -2)}xx`;
      assert.match(
        (await post(b.sidecar.url, "greet", { who: "lin" }, { requestState: forged, inputResponses: approve }))
          .content?.[0]?.text ?? "",
        /signature does not verify/,
      );
      const edited = await post(
        b.sidecar.url,
        "greet",
        { who: "mallory" },
        { requestState: again.requestState, inputResponses: approve },
      );
      assert.match(edited.content?.[0]?.text ?? "", /other arguments/);
      assert.equal(ran("greet"), before + 1, "the upstream ran the call once");
    });
  },
);
