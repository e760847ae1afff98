// resources/read|list, resources/templates/list, prompts/get|list under the policy's resources: and
// prompts: blocks, with real clients of both SDK generations and the Python SDK against
// server-everything. Judged by what reached the upstream (a TCP tap between sidecar and server): a
// denied or hidden read or prompt never gets there; lists lose exactly the hidden entries, in order.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { McpError } from "@modelcontextprotocol/sdk/types.js";
import {
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
  ResultSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { startTap, type Tap } from "../differential/tap.ts";
import { runPythonClient } from "../support/python-client.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startServerEverything, type ServerEverything } from "../upstreams/server-everything.ts";

const DOC = "demo://resource/static/document/";
const POLICY = mcpPolicy(`
default: allow
resources:
  default: allow
  rules:
    - uri: "${DOC}architecture.md"
      action: deny
      reason: "Architecture notes are internal."
    - uri: "${DOC}structure.md"
      action: hide
    - uri: "demo://resource/dynamic/blob/*"
      action: hide
    - uri: "demo://resource/dynamic/text/*"
      require: ["caller.grant == 'apikey:alice'"]
prompts:
  default: allow
  rules:
    - name: resource-prompt
      action: hide
    - name: completable-prompt
      action: deny
    - name: args-prompt
      denyIf: ["args.city == 'Atlantis'"]
`);

type Outcome = "allowed" | "denied" | "hidden";

/** What an agent saw: a result, the sidecar's denial, or an answer saying the thing does not exist. */
function seen(err: unknown): Outcome {
  if (!(err instanceof Error)) return "allowed";
  const code = (err as { code?: number }).code;
  if (code === -32010 && /\[POLICY DENIED\]/.test(err.message)) return "denied";
  if (code === -32002 || (code === -32602 && /not found/.test(err.message))) return "hidden";
  throw err;
}
const attempt = (p: Promise<unknown>): Promise<Outcome> => p.then(() => "allowed" as const, seen);

describe("resources and prompts under policy: real clients ↔ sidecar ↔ server-everything", { timeout: 120_000 }, () => {
  let everything: ServerEverything;
  let direct: string;
  let tap: Tap;
  let proxy: ProxyHarness;
  before(async () => {
    everything = await startServerEverything();
    direct = everything.url;
    tap = await startTap(direct, join(mkdtempSync(join(tmpdir(), "mcp-warden-tap-")), "tap.log"));
    proxy = await startProxy(tap.url, { policy: POLICY });
  });
  after(async () => {
    await proxy?.close();
    await tap?.close();
    await everything?.stop();
  });

  it("SDK v1 client: each method allowed, denied and hidden; the upstream sees only what was allowed", async () => {
    const client = await proxy.client(KEYS.alice);
    const bob = await proxy.client(KEYS.bob);
    const since = Date.now();
    const outcomes = {
      readAllowed: await attempt(client.readResource({ uri: `${DOC}features.md` })),
      readDenied: await attempt(client.readResource({ uri: `${DOC}architecture.md` })),
      readHidden: await attempt(client.readResource({ uri: `${DOC}structure.md` })),
      templateAllowed: await attempt(client.readResource({ uri: "demo://resource/dynamic/text/1" })),
      templateRequireFailed: await attempt(bob.readResource({ uri: "demo://resource/dynamic/text/2" })),
      templateHidden: await attempt(client.readResource({ uri: "demo://resource/dynamic/blob/1" })),
      promptAllowed: await attempt(client.getPrompt({ name: "args-prompt", arguments: { city: "Paris" } })),
      promptDeniedByArgs: await attempt(client.getPrompt({ name: "args-prompt", arguments: { city: "Atlantis" } })),
      promptDenied: await attempt(
        client.getPrompt({ name: "completable-prompt", arguments: { department: "Engineering", name: "x" } }),
      ),
      promptHidden: await attempt(
        client.getPrompt({ name: "resource-prompt", arguments: { resourceType: "Text", resourceId: "1" } }),
      ),
    };
    assert.deepEqual(outcomes, {
      readAllowed: "allowed",
      readDenied: "denied",
      readHidden: "hidden",
      templateAllowed: "allowed",
      templateRequireFailed: "denied",
      templateHidden: "hidden",
      promptAllowed: "allowed",
      promptDeniedByArgs: "denied",
      promptDenied: "denied",
      promptHidden: "hidden",
    });
    const sent = tap.sentSince(since);
    for (const executed of [`${DOC}features.md`, "demo://resource/dynamic/text/1", '"Paris"'])
      assert.ok(sent.includes(executed), `upstream never got ${executed}`);
    for (const refused of [
      "architecture.md",
      "structure.md",
      "dynamic/text/2",
      "dynamic/blob",
      "Atlantis",
      "completable-prompt",
      "resource-prompt",
    ]) {
      assert.ok(!sent.includes(refused), `the upstream received ${refused}`);
    }
    await assert.rejects(client.readResource({ uri: `${DOC}architecture.md` }), (err: McpError) =>
      err.message.includes("Architecture notes are internal."),
    );
  });

  it("SDK v1 client: lists lose exactly the hidden entries, in the server's order", async () => {
    const client = await proxy.client(KEYS.alice);
    const raw = new Client({ name: "direct", version: "1" });
    await raw.connect(new StreamableHTTPClientTransport(new URL(direct)));
    try {
      const [resources, directResources] = [await client.listResources(), await raw.listResources()];
      assert.ok(directResources.resources.some((r) => r.uri === `${DOC}structure.md`));
      assert.deepEqual(
        resources.resources,
        directResources.resources.filter((r) => r.uri !== `${DOC}structure.md`),
      );
      const [templates, directTemplates] = [await client.listResourceTemplates(), await raw.listResourceTemplates()];
      assert.deepEqual(
        templates.resourceTemplates,
        directTemplates.resourceTemplates.filter((t) => !t.uriTemplate.startsWith("demo://resource/dynamic/blob/")),
      );
      assert.equal(templates.resourceTemplates.length, directTemplates.resourceTemplates.length - 1);
      const [prompts, directPrompts] = [await client.listPrompts(), await raw.listPrompts()];
      assert.deepEqual(
        prompts.prompts,
        directPrompts.prompts.filter((p) => p.name !== "resource-prompt"),
      );
      assert.equal(prompts.prompts.length, directPrompts.prompts.length - 1);
    } finally {
      await raw.close();
    }
  });

  it("SDK v2 client: the same decisions", async () => {
    const client = new V2Client({ name: "v2-agent", version: "1.0.0" }, { capabilities: {} });
    await client.connect(
      new V2Transport(new URL(proxy.sidecar.url), {
        requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } },
      }),
    );
    try {
      assert.equal(await attempt(client.readResource({ uri: `${DOC}features.md` })), "allowed");
      assert.equal(await attempt(client.readResource({ uri: `${DOC}architecture.md` })), "denied");
      assert.equal(await attempt(client.readResource({ uri: `${DOC}structure.md` })), "hidden");
      assert.equal(await attempt(client.getPrompt({ name: "simple-prompt" })), "allowed");
      assert.equal(
        await attempt(
          client.getPrompt({ name: "completable-prompt", arguments: { department: "Engineering", name: "x" } }),
        ),
        "denied",
      );
      assert.equal(
        await attempt(
          client.getPrompt({ name: "resource-prompt", arguments: { resourceType: "Text", resourceId: "1" } }),
        ),
        "hidden",
      );
      const names = (await client.listPrompts()).prompts.map((p) => p.name);
      assert.ok(names.includes("simple-prompt") && !names.includes("resource-prompt"), names.join(","));
    } finally {
      await client.close();
    }
  });

  it("Python SDK client: the same decisions and lists", async () => {
    const since = Date.now();
    const lines = await runPythonClient(
      proxy.sidecar.url,
      [
        ["resources/read", { uri: `${DOC}features.md` }],
        ["resources/read", { uri: `${DOC}architecture.md` }],
        ["resources/read", { uri: `${DOC}structure.md` }],
        ["prompts/get", { name: "args-prompt", arguments: { city: "Atlantis" } }],
        ["prompts/get", { name: "resource-prompt", arguments: { resourceType: "Text", resourceId: "1" } }],
        ["resources/list", {}],
        ["prompts/list", {}],
      ],
      KEYS.alice,
    );
    const [, read, denied, hidden, promptDenied, promptHidden, list, prompts] = lines as Record<
      string,
      Record<string, unknown>
    >[];
    assert.ok(read?.ok, JSON.stringify(read));
    assert.equal(denied?.error?.code, -32010);
    assert.match(String(denied?.error?.message), /^\[POLICY DENIED\] Architecture notes are internal\./);
    // As the server answers a missing resource once the sidecar has learnt it (-32602), else -32002.
    assert.ok(
      [-32002, -32602].includes(Number(hidden?.error?.code)) && /not found/.test(String(hidden?.error?.message)),
      JSON.stringify(hidden),
    );
    assert.equal(promptDenied?.error?.code, -32010);
    assert.equal(promptHidden?.error?.code, -32602);
    const uris = (list?.ok as { resources: { uri: string }[] }).resources.map((r) => r.uri);
    assert.ok(uris.includes(`${DOC}features.md`) && !uris.includes(`${DOC}structure.md`));
    assert.ok(!(prompts?.ok as { prompts: { name: string }[] }).prompts.some((p) => p.name === "resource-prompt"));
    const sent = tap.sentSince(since);
    assert.ok(
      !sent.includes("architecture.md") && !sent.includes("Atlantis") && !sent.includes('structure.md"}'),
      "a refused request reached the upstream",
    );
  });

  it("binds tasks to the caller that created them: another caller cannot read, await, cancel or list them", async () => {
    const alice = await proxy.client(KEYS.alice);
    const bob = await proxy.client(KEYS.bob);
    const created = await alice.request(
      {
        method: "tools/call",
        params: { name: "simulate-research-query", arguments: { topic: "ownership" }, task: { ttl: 60_000 } },
      },
      CreateTaskResultSchema,
    );
    const { taskId } = created.task;
    const since = Date.now();
    for (const method of ["tasks/get", "tasks/result", "tasks/cancel"] as const) {
      await assert.rejects(
        bob.request({ method, params: { taskId } }, ResultSchema),
        (err: McpError) => err.code === -32602 && /Task not found/.test(err.message),
        method,
      );
    }
    assert.ok(!tap.sentSince(since).includes(taskId), "another caller's task request reached the upstream");
    const listed = await bob.request({ method: "tasks/list", params: {} }, ListTasksResultSchema);
    assert.ok(!listed.tasks.some((t) => t.taskId === taskId), "bob sees alice's task");
    const own = await alice.request({ method: "tasks/list", params: {} }, ListTasksResultSchema);
    assert.ok(
      own.tasks.some((t) => t.taskId === taskId),
      "alice does not see her own task",
    );
    assert.equal(
      (await alice.request({ method: "tasks/get", params: { taskId } }, GetTaskResultSchema)).taskId,
      taskId,
    );
    await alice.request({ method: "tasks/cancel", params: { taskId } }, ResultSchema);
  });

  it("subscriptions name only resources the caller may read", async () => {
    const client = await proxy.client(KEYS.alice);
    const since = Date.now();
    await assert.rejects(
      client.subscribeResource({ uri: `${DOC}architecture.md` }),
      (err: McpError) => err.code === -32010,
    );
    await assert.rejects(
      client.subscribeResource({ uri: `${DOC}structure.md` }),
      (err: McpError) => err.code === -32002,
    );
    assert.ok(!tap.sentSince(since).includes("resources/subscribe"), "a refused subscription reached the upstream");
    await client.subscribeResource({ uri: `${DOC}features.md` });
    assert.ok(tap.sentSince(since).includes("resources/subscribe"));
  });

  it("counts every decision with bounded labels and writes an audit line per request", async () => {
    assert.ok(
      ((await proxy.metric("mcp_warden_requests_decided_total", {
        kind: "resource",
        name: `${DOC}architecture.md`,
        decision: "denied",
        reason: "rule_denied",
      })) ?? 0) >= 1,
    );
    assert.ok(
      ((await proxy.metric("mcp_warden_requests_decided_total", {
        kind: "prompt",
        name: "resource-prompt",
        decision: "denied",
        reason: "hidden",
      })) ?? 0) >= 1,
    );
    // A URI no rule names and no list showed is not a label of its own.
    assert.ok(
      ((await proxy.metric("mcp_warden_requests_decided_total", {
        kind: "resource",
        name: "_unknown",
        decision: "allowed",
      })) ?? 0) >= 1,
    );
    assert.equal(
      await proxy.metric("mcp_warden_requests_decided_total", {
        kind: "resource",
        name: "demo://resource/dynamic/text/1",
      }),
      undefined,
    );
    const audit = proxy.logs.auditLines.filter((l) => l.kind === "resource");
    const denied = audit.find((l) => l.uri === `${DOC}architecture.md`);
    assert.equal(denied?.msg, "resource read");
    assert.equal(denied?.decision, "denied");
    assert.equal(denied?.forwarded, false);
    const allowed = audit.find((l) => l.uri === `${DOC}features.md`);
    assert.deepEqual([allowed?.forwarded, allowed?.upstreamOutcome, allowed?.succeeded], [true, "ok", true]);
  });
});
