// Interop with the Python ecosystem, the one Kestra's server lives in: a FastMCP server (stateful SSE as
// Kestra runs it, JSON answers, stateless) and the official Python `mcp` client. The same script runs
// directly and through the sidecar; where no policy applies the answers must be identical, byte for
// byte on the wire.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { KEYS, startHarness, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { PYTHON_DIR, startPeer, venvPython, type Peer } from "../support/processes.ts";
import { runPythonClient } from "../support/python-client.ts";
import { messagesOf, rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";

const POLICY = mcpPolicy(`
default: allow
hide: [delete_everything]
tools:
  - name: add
    denyIf: ["args.a > 100"]
    reason: "Sums over 100 need a human."
`);

const SCRIPT: [string, Record<string, unknown>][] = [
  ["tools/list", {}],
  ["tools/call", { name: "echo", arguments: { message: "héllo 🌍" } }],
  ["tools/call", { name: "add", arguments: { a: 2, b: 3 } }],
  ["tools/call", { name: "count_with_progress", arguments: { steps: 3 } }],
  ["tools/call", { name: "not_a_tool", arguments: {} }],
  ["resources/read", { uri: "kestra://flows/company.team" }],
  ["prompts/get", { name: "summarise", arguments: { topic: "executions" } }],
];

async function pythonClient(
  url: string,
  script: [string, Record<string, unknown>][],
  token?: string,
): Promise<Record<string, unknown>[]> {
  return await runPythonClient(url, script, token);
}

async function startFastMcp(flags: string[]): Promise<{ peer: Peer; url: string }> {
  const peer = startPeer(venvPython(), [`${PYTHON_DIR}fastmcp_server.py`, ...flags]);
  const match = await peer.waitFor(/READY (\d+)/);
  return { peer, url: `http://127.0.0.1:${match[1]}/mcp` };
}

for (const [mode, flags] of [
  ["stateful SSE", []],
  ["JSON answers", ["--json"]],
  ["stateless", ["--stateless"]],
] as const) {
  describe(`Python mcp client ↔ sidecar ↔ FastMCP server (${mode})`, { timeout: 120_000 }, () => {
    let server: { peer: Peer; url: string };
    let proxy: ProxyHarness;
    before(async () => {
      server = await startFastMcp([...flags]);
      proxy = await startProxy(server.url, { policy: POLICY });
      await proxy.catalogued();
    });
    after(async () => {
      await proxy?.close();
      await server?.peer.stop();
    });

    it("gives the same answers directly and through the sidecar where no policy applies", async () => {
      const direct = await pythonClient(server.url, SCRIPT);
      const proxied = await pythonClient(proxy.sidecar.url, SCRIPT, KEYS.alice);
      assert.equal(proxied.length, SCRIPT.length + 1);
      const [directList, proxiedList] = [direct[1], proxied[1]] as { ok: { tools: { name: string }[] } }[];
      assert.deepEqual(
        proxiedList?.ok.tools,
        directList?.ok.tools.filter((t) => t.name !== "delete_everything"),
        "tools/list minus the hidden tool, every other field intact",
      );
      assert.deepEqual([direct[0], ...direct.slice(2)], [proxied[0], ...proxied.slice(2)]);
    });

    it("enforces the policy on a Python client", async () => {
      const lines = await pythonClient(
        proxy.sidecar.url,
        [
          ["tools/call", { name: "add", arguments: { a: 500, b: 1 } }],
          ["tools/call", { name: "delete_everything", arguments: { confirm: true } }],
        ],
        KEYS.alice,
      );
      assert.deepEqual(lines[1], {
        ok: {
          content: [{ text: "[POLICY DENIED] Sums over 100 need a human.", type: "text" }],
          isError: true,
          _meta: {
            "mcpwarden.io/decision": { decision: "denied", reason: "deny_if_matched", rule: "/spec/tools/0/denyIf/0" },
          },
        },
      });
      assert.deepEqual(
        lines[2],
        { ok: { content: [{ text: "Unknown tool: 'delete_everything'", type: "text" }], isError: true } },
        "as FastMCP answers a tool it does not have",
      );
    });

    it("relays FastMCP's answers in meaning: the same status, media type and messages", async () => {
      const auth = { authorization: `Bearer ${KEYS.alice}` };
      const body = toolCall(5, "add", { a: 20, b: 22 });
      const exchange = async (url: string, headers: Record<string, string>) => {
        const session = mode === "stateless" ? undefined : await rawInitialize(url, headers, "2025-11-25");
        const h = {
          ...headers,
          "mcp-protocol-version": "2025-11-25",
          ...(session ? { "mcp-session-id": session } : {}),
        };
        return [
          await rawPost(url, body, h),
          await rawPost(
            url,
            { jsonrpc: "2.0", id: 6, method: "resources/read", params: { uri: "kestra://flows/x" } },
            h,
          ),
        ];
      };
      const direct = await exchange(server.url, {});
      const proxied = await exchange(proxy.sidecar.url, auth);
      for (const [i, answer] of direct.entries()) {
        const other = proxied[i] as typeof answer;
        assert.equal(other.status, answer.status);
        assert.equal(other.headers["content-type"], answer.headers["content-type"]);
        assert.deepEqual(messagesOf(other), messagesOf(answer), "the same messages");
        assert.ok(messagesOf(answer).length > 0);
      }
    });
  });
}

describe("Python mcp client ↔ sidecar ↔ Kestra double", { timeout: 60_000 }, () => {
  it("enforces the first Kestra example on the Python client", async () => {
    const h = await startHarness({
      policy:
        '{"version":"1","default":"deny","tools":{"resume_execution":{"limits":[{"counter":"resume_execution_rate","window":"minute","max":10,"scope":"grant"}]}}}',
    });
    try {
      const lines = await pythonClient(
        h.sidecar.url,
        [
          [
            "tools/call",
            { name: "resume_execution", arguments: { namespace: "company.team", flow_id: "nightly-etl" } },
          ],
          ["tools/call", { name: "list_executions", arguments: { namespace: "company.team" } }],
        ],
        KEYS.alice,
      );
      assert.equal((lines[1]?.ok as { isError?: boolean }).isError, false);
      assert.match(JSON.stringify(lines[2]), /\[POLICY DENIED\] Tool 'list_executions' is not allowed/);
      assert.deepEqual(
        h.upstream.calls.map((c) => c.tool),
        ["resume_execution"],
      );
    } finally {
      await h.close();
    }
  });
});

describe("TypeScript SDK client ↔ sidecar ↔ FastMCP server", { timeout: 60_000 }, () => {
  it("streams FastMCP's progress notifications and filters its tools/list", async () => {
    const server = await startFastMcp([]);
    const proxy = await startProxy(server.url, { policy: POLICY });
    try {
      const client = await proxy.client(KEYS.alice);
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), [
        "add",
        "count_with_progress",
        "echo",
      ]);
      const progress: number[] = [];
      const result = (await client.callTool({ name: "count_with_progress", arguments: { steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      })) as { content: { text: string }[] };
      assert.equal(result.content[0]?.text, "counted 3");
      assert.deepEqual(progress, [1, 2, 3]);
    } finally {
      await proxy.close();
      await server.peer.stop();
    }
  });
});
