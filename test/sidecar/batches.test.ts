// 2025-03-26 batches and task-augmented calls: every element is decided, denied elements never reach the
// upstream, the allowed ones are forwarded with their original bytes, and the sidecar's answers are
// merged into the upstream's answer, JSON or SSE.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { KEYS, startHarness, type Harness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { messagesOf, rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";

const POLICY = mcpPolicy(
  "default: deny\nhide: [force_run_execution]\ntools:\n  - name: list_namespaces\n  - name: resume_execution",
);

for (const answers of ["sse", "json"] as const) {
  describe(`batches (upstream answers ${answers})`, () => {
    let h: Harness;
    let headers: Record<string, string>;
    before(async () => {
      h = await startHarness({ policy: POLICY, upstream: { answers } });
      await h.catalogued();
      const auth = { authorization: `Bearer ${KEYS.alice}` };
      headers = {
        ...auth,
        "mcp-session-id": await rawInitialize(h.sidecar.url, auth),
        "mcp-protocol-version": "2025-03-26",
      };
    });
    after(() => h.close());

    const byId = (messages: Record<string, unknown>[]) => new Map(messages.map((m) => [m.id, m]));

    it("forwards the allowed elements, answers the denied ones, and merges the answers", async () => {
      const before = h.upstream.calls.length;
      const answer = await rawPost(
        h.sidecar.url,
        [
          toolCall(1, "list_namespaces"),
          toolCall(2, "delete_flow_logs", { namespace: "a", flow_id: "b" }),
          toolCall(3, "force_run_execution"),
        ],
        headers,
      );
      assert.equal(answer.status, 200);
      const messages = byId(messagesOf(answer));
      assert.deepEqual([...messages.keys()].sort(), [1, 2, 3]);
      assert.match(JSON.stringify(messages.get(1)), /company\.finance/, "the upstream's answer to the allowed call");
      assert.match(JSON.stringify(messages.get(2)), /\[POLICY DENIED\] Tool 'delete_flow_logs'/);
      assert.deepEqual(
        messages.get(3),
        {
          jsonrpc: "2.0",
          id: 3,
          result: { isError: true, content: [{ type: "text", text: "Unknown tool: 'force_run_execution'" }] },
        },
        "as the upstream answers a tool it does not have",
      );
      assert.deepEqual(
        h.upstream.calls.slice(before).map((c) => c.tool),
        ["list_namespaces"],
      );
    });

    it("answers a batch of denied calls alone, without asking the upstream", async () => {
      const requestsBefore = h.upstream.requests.length;
      const answer = await rawPost(
        h.sidecar.url,
        [toolCall("a", "delete_flow_logs"), toolCall("b", "manage_kv_store")],
        headers,
      );
      assert.equal(answer.status, 200);
      assert.equal(answer.headers["content-type"], "application/json");
      assert.deepEqual(
        messagesOf(answer).map((m) => m.id),
        ["a", "b"],
      );
      assert.equal(h.upstream.requests.length, requestsBefore);
    });

    it("answers with the sidecar's answers when the upstream only accepted notifications (202)", async () => {
      const answer = await rawPost(
        h.sidecar.url,
        [{ jsonrpc: "2.0", method: "notifications/roots/list_changed" }, toolCall(5, "delete_flow_logs")],
        headers,
      );
      assert.equal(answer.status, 200);
      assert.deepEqual(
        messagesOf(answer).map((m) => m.id),
        [5],
      );
    });

    it("filters tools/list answers inside a batch", async () => {
      const answer = await rawPost(
        h.sidecar.url,
        [{ jsonrpc: "2.0", id: 10, method: "tools/list" }, toolCall(11, "delete_flow_logs")],
        headers,
      );
      const messages = byId(messagesOf(answer));
      const tools = (messages.get(10)?.result as { tools: { name: string }[] }).tools;
      assert.equal(tools.length, 38);
      assert.equal(
        tools.some((t) => t.name === "force_run_execution"),
        false,
      );
      assert.ok(messages.get(11));
    });

    it("decides task-augmented calls like any other call", async () => {
      const before = h.upstream.calls.length;
      const denied = messagesOf(
        await rawPost(h.sidecar.url, toolCall(20, "delete_flow_logs", {}, { task: { ttl: 60_000 } }), headers),
      );
      assert.match(JSON.stringify(denied[0]), /\[POLICY DENIED\]/);
      const allowed = messagesOf(
        await rawPost(h.sidecar.url, toolCall(21, "list_namespaces", {}, { task: { ttl: 60_000 } }), headers),
      );
      // The Kestra double has no task support: its refusal proves the allowed call reached it.
      assert.match(
        JSON.stringify(allowed[0]),
        /"id":21,"error":\{"code":-32603,"message":"Server does not support task creation/,
      );
      assert.equal(h.upstream.calls.length, before);
      const audit = h.logs.auditLines.find((l) => l.requestId === 21);
      assert.equal(audit?.forwarded, true);
      assert.equal(audit?.upstreamOutcome, "rpc_error");
    });
  });
}
