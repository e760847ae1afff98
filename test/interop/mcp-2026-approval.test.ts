// Approval the 2026-07-28 way: an SDK v2 client calling a tool an approve rule holds gets an
// InputRequiredResult with the sidecar's signed requestState, answers the approval question and
// retries with inputResponses; only an approved retry with the untouched state runs, once. Forged,
// edited, another caller's and replayed states are refused. Judged by the tools the server ran.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { APPROVAL_INPUT_KEY } from "../../sidecar/approvals/request-state.ts";
import { messagesOf, rawPost } from "../support/raw-mcp.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";
import { sidecarFiles, startSidecarProcess, type SidecarProcess } from "../support/sidecar-process.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startV2Server, type V2Server } from "../upstreams/sdk-v2-server.ts";
import { eventually } from "../support/eventually.ts";

const MODERN = "2026-07-28";
const POLICY = mcpPolicy(`
default: allow
tools:
  - name: greet
    action: approve
    approval: {via: elicitation, ttl: 5m}
`);
const meta = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } },
};
type Result = Record<string, unknown> & { content?: { text: string }[]; isError?: boolean };

async function connect(url: string, key: string, approve: boolean): Promise<Client> {
  const client = new Client(
    { name: "v2-agent", version: "1.0.0" },
    { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: MODERN } } },
  );
  client.setRequestHandler("elicitation/create", () => ({
    action: "accept",
    content: { approve, ...(approve ? {} : { reason: "not today" }) },
  }));
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
  );
  return client;
}

describe("MCP 2026-07-28 approvals through InputRequiredResult and a signed requestState", { timeout: 60_000 }, () => {
  let server: V2Server;
  let proxy: ProxyHarness;
  const call = async (
    key: string,
    args: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): Promise<Result> => {
    const body = {
      jsonrpc: "2.0",
      id: 5,
      method: "tools/call",
      params: { name: "greet", arguments: args, ...extra, _meta: meta },
    };
    const answer = await rawPost(proxy.sidecar.url, body, {
      authorization: `Bearer ${key}`,
      "mcp-protocol-version": MODERN,
      "mcp-method": "tools/call",
      "mcp-name": "greet",
    });
    return (messagesOf(answer)[0] as { result: Result }).result;
  };
  const approve = { [APPROVAL_INPUT_KEY]: { action: "accept", content: { approve: true } } };
  const greets = () => server.calls.filter((c) => c === "greet").length;
  before(async () => {
    server = await startV2Server("json");
    proxy = await startProxy(server.url, { policy: POLICY });
  });
  after(async () => {
    await proxy?.close();
    await server?.close();
  });

  it("an SDK v2 client approves through inputResponses and the call runs once; a declined one never runs", async () => {
    const yes = await connect(proxy.sidecar.url, KEYS.alice, true);
    const before = greets();
    const result = await yes.callTool({ name: "greet", arguments: { who: "ada" } });
    assert.deepEqual(result.content, [{ type: "text", text: "hello ada" }]);
    assert.equal(greets(), before + 1);
    const no = await connect(proxy.sidecar.url, KEYS.alice, false);
    const declined = await no.callTool({ name: "greet", arguments: { who: "ada" } });
    assert.equal(declined.isError, true);
    assert.match(JSON.stringify(declined.content), /\[POLICY DENIED\].*did not approve.*not today/);
    assert.equal(greets(), before + 1);
    await yes.close();
    await no.close();
    await eventually(
      () => proxy.logs.auditLines.some((l) => l.reason === "approved"),
      "audit line of the approved call",
    );
    const asked = proxy.logs.auditLines.filter((l) => l.decision === "approval_required");
    assert.ok(
      asked.length >= 2 &&
        asked.every((l) => l.upstreamOutcome === "input_required" && l.succeeded === false && l.forwarded === false),
    );
  });

  it("refuses forged, edited, another caller's and replayed states; only the untouched one runs", async () => {
    const first = await call(KEYS.alice, { who: "grace" });
    assert.equal(first.resultType, "input_required");
    const state = first.requestState as string;
    const inputRequests = first.inputRequests as Record<
      string,
      { method: string; params: { mode: string; requestedSchema: unknown } }
    >;
    assert.equal(inputRequests[APPROVAL_INPUT_KEY]?.method, "elicitation/create");
    const before = greets();
    const refused = async (key: string, args: Record<string, unknown>, requestState: string, why: RegExp) => {
      const r = await call(key, args, { requestState, inputResponses: approve });
      assert.equal(r.isError, true, JSON.stringify(r));
      assert.match(r.content?.[0]?.text ?? "", why);
    };
    const [body, mac] = state.split(".").slice(1) as [string, string];
    const forged = `mcpwarden1.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, "base64url").toString()), t: "greet", d: "0".repeat(64) })).toString("base64url")}.${mac}`;
    await refused(KEYS.alice, { who: "grace" }, forged, /signature does not verify/);
    await refused(KEYS.alice, { who: "grace" }, `${state.slice(0, -2)}xx`, /signature does not verify/);
    await refused(KEYS.alice, { who: "mallory" }, state, /other arguments/);
    await refused(KEYS.bob, { who: "grace" }, state, /another caller/);
    assert.equal(greets(), before, "nothing ran");
    const ok = await call(KEYS.alice, { who: "grace" }, { requestState: state, inputResponses: approve });
    assert.deepEqual(ok.content, [{ type: "text", text: "hello grace" }]);
    assert.equal(greets(), before + 1);
    await refused(KEYS.alice, { who: "grace" }, state, /already been used/);
    assert.equal(greets(), before + 1, "the replay did not run");
  });
});

describe(
  "2026-07-28 approval states across replicas (two sidecar processes, one key, one redis-server)",
  { timeout: 90_000 },
  () => {
    let server: V2Server;
    let redis: RedisServer;
    let replicas: SidecarProcess[] = [];
    before(async () => {
      server = await startV2Server("json");
      redis = await startRedisServer();
      const files = sidecarFiles(
        mcpPolicy(`
default: allow
rateLimit: {store: redis, redis: {secretRef: {name: redis, key: url}, keyPrefix: "approvals-test:"}, failMode: closed}
tools:
  - name: greet
    action: approve
    approval: {via: elicitation}
`),
      );
      writeFileSync(join(files.dir, "state-key"), randomBytes(32));
      const env = { MCP_WARDEN_REDIS_URL: redis.url, MCP_WARDEN_APPROVAL_STATE_KEY: join(files.dir, "state-key") };
      replicas = await Promise.all(
        [0, 1].map(() =>
          startSidecarProcess({ policy: files.policy, apiKeys: files.apiKeys, upstream: server.url, env }),
        ),
      );
    });
    after(async () => {
      await Promise.all(replicas.map((r) => r.stop()));
      await redis?.stop();
      await server?.close();
    });

    it("a state issued by one replica is honoured by another, and only once across both", async () => {
      const post = async (url: string, extra: Record<string, unknown>): Promise<Result> => {
        const body = {
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "greet", arguments: { who: "lin" }, ...extra, _meta: meta },
        };
        const answer = await rawPost(url, body, {
          authorization: `Bearer ${KEYS.alice}`,
          "mcp-protocol-version": MODERN,
          "mcp-method": "tools/call",
          "mcp-name": "greet",
        });
        return (messagesOf(answer)[0] as { result: Result }).result;
      };
      const [a, b] = replicas as [SidecarProcess, SidecarProcess];
      const asked = await post(a.url, {});
      assert.equal(asked.resultType, "input_required");
      const retry = {
        requestState: asked.requestState,
        inputResponses: { [APPROVAL_INPUT_KEY]: { action: "accept", content: { approve: true } } },
      };
      const before = server.calls.length;
      assert.deepEqual((await post(b.url, retry)).content, [{ type: "text", text: "hello lin" }]);
      const replay = await post(a.url, retry);
      assert.equal(replay.isError, true);
      assert.match(replay.content?.[0]?.text ?? "", /already been used/);
      assert.deepEqual(server.calls.slice(before), ["greet"]);
    });
  },
);
