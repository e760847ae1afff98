// Attacks on the resources: and prompts: blocks as an agent would try them, against server-everything
// behind the sidecar, judged by what reached the upstream (a TCP tap): other spellings of a denied or
// hidden URI, other methods naming a hidden prompt, method-name look-alikes, batches, prompt
// arguments, other callers' tasks; and a hidden resource or prompt answers as a missing one does.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { McpError } from "@modelcontextprotocol/sdk/types.js";
import { CreateTaskResultSchema, ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { startTap, type Tap } from "../differential/tap.ts";
import { messagesOf, rawInitialize, rawPost } from "../support/raw-mcp.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startServerEverything, type ServerEverything } from "../upstreams/server-everything.ts";
import { eventually } from "../support/eventually.ts";

const DOC = "demo://resource/static/document/";
const POLICY = mcpPolicy(`
default: allow
resources:
  default: allow
  rules:
    - uri: "${DOC}architecture.md"
      action: deny
    - uri: "${DOC}structure.md"
      action: hide
    - uri: "demo://resource/dynamic/blob/{resourceId}"
      action: hide
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

/** The error an agent got (code and message), or "allowed". */
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "allowed",
    (err: McpError) => `${err.code} ${err.message}`,
  );

describe(
  "attacks on resources and prompts under policy: SDK client ↔ sidecar ↔ server-everything",
  { timeout: 120_000 },
  () => {
    let everything: ServerEverything;
    let tap: Tap;
    let proxy: ProxyHarness;
    before(async () => {
      everything = await startServerEverything();
      tap = await startTap(everything.url, join(mkdtempSync(join(tmpdir(), "mcp-warden-tap-")), "tap.log"));
      proxy = await startProxy(tap.url, { policy: POLICY });
      for (const kind of ["prompt", "resource", "template"]) {
        await eventually(
          () => proxy.logs.logLines.some((l) => String(l.msg).includes(`answers a missing ${kind};`)),
          `learnt the missing-${kind} answer`,
        );
      }
    });
    after(async () => {
      await proxy?.close();
      await tap?.close();
      await everything?.stop();
    });

    it("other spellings of a denied or hidden URI are decided as it, or refused: none reaches the upstream", async () => {
      const client = await proxy.client(KEYS.alice);
      const since = Date.now();
      const spellings = [
        `${DOC}features.md/../architecture.md`,
        `${DOC}%2e%2e/document/architecture.md`,
        `${DOC}%61rchitecture.md`,
        `${DOC}%2561rchitecture.md`,
        `${DOC}x%2F..%2Farchitecture.md`,
        `${DOC}x\\..\\architecture.md`,
        "DEMO://resource/static/document/architecture.md",
        "demo://RESOURCE/static/document/architecture.md",
        "demo://resource/static/document//architecture.md",
        `${DOC}./architecture.md`,
        `${DOC}architecture.md?download=1`,
        `${DOC}architecture.md#top`,
        `${DOC}architecture.md/`,
        `${DOC}structure.md?x`,
        `${DOC}%73tructure.md`,
        `${DOC}architecture.md\u0000.txt`,
        `${DOC}${"a/".repeat(5000)}architecture.md`,
      ];
      for (const uri of spellings) {
        const seen = await outcome(client.readResource({ uri }));
        assert.match(
          seen,
          /^(-32010 .*\[POLICY DENIED\]|-32602 .*Resource .* not found)/,
          `${uri.slice(0, 80)}: ${seen}`,
        );
      }
      const sent = tap.sentSince(since);
      for (const name of ["architecture", "rchitecture", "structure", "tructure"])
        assert.ok(!sent.includes(name), `the upstream received a read of ${name}`);
      // A URI in another spelling of an allowed one is forwarded as the client wrote it (this server does not decode it).
      const encoded = Date.now();
      await outcome(client.readResource({ uri: `${DOC}%66eatures.md` }));
      assert.ok(tap.sentSince(encoded).includes(`${DOC}%66eatures.md`));
    });

    it("a hidden resource template leaves templates/list and hides every URI it expands to", async () => {
      const client = await proxy.client(KEYS.alice);
      const templates = await client.listResourceTemplates();
      assert.ok(
        !templates.resourceTemplates.some((t) => t.uriTemplate.includes("/blob/")),
        "the hidden template is listed",
      );
      assert.ok(templates.resourceTemplates.some((t) => t.uriTemplate.includes("/text/")));
      const since = Date.now();
      for (const uri of [
        "demo://resource/dynamic/blob/1",
        "demo://resource/dynamic/blob/%31",
        "DEMO://resource/dynamic/blob/2?x",
      ]) {
        assert.match(await outcome(client.readResource({ uri })), /^-32602 .*Resource .* not found/, uri);
      }
      const missingTemplate = await outcome(
        client.complete({
          ref: { type: "ref/resource", uri: "demo://resource/dynamic/none/{resourceId}" },
          argument: { name: "resourceId", value: "1" },
        }),
      );
      const hiddenTemplate = await outcome(
        client.complete({
          ref: { type: "ref/resource", uri: "demo://resource/dynamic/blob/{resourceId}" },
          argument: { name: "resourceId", value: "1" },
        }),
      );
      assert.equal(hiddenTemplate.replace("blob", "none"), missingTemplate);
      for (const uri of [
        `${DOC}%73tructure.md`,
        `${DOC}architecture.md?x`,
        "demo://resource/dynamic/blob/3",
        `${DOC}a/../structure.md`,
      ]) {
        assert.notEqual(await outcome(client.subscribeResource({ uri })), "allowed", `subscribed to ${uri}`);
      }
      const sent = tap.sentSince(since);
      assert.ok(
        !sent.includes("/blob/") && !sent.includes("tructure.md") && !sent.includes("architecture.md"),
        "the upstream read, completed or subscribed through a hidden or denied spelling",
      );
      assert.equal(await outcome(client.readResource({ uri: "demo://resource/dynamic/text/1" })), "allowed");
    });

    it("a hidden resource or prompt answers exactly as a missing one", async () => {
      const client = await proxy.client(KEYS.alice);
      const hiddenRead = await outcome(client.readResource({ uri: `${DOC}structure.md` }));
      const missingRead = await outcome(client.readResource({ uri: `${DOC}nothing.md` }));
      assert.equal(hiddenRead.replace("structure.md", "X"), missingRead.replace("nothing.md", "X"));
      const hiddenPrompt = await outcome(
        client.getPrompt({ name: "resource-prompt", arguments: { resourceType: "Text", resourceId: "1" } }),
      );
      const missingPrompt = await outcome(client.getPrompt({ name: "no-such-prompt", arguments: {} }));
      assert.equal(hiddenPrompt.replace("resource-prompt", "X"), missingPrompt.replace("no-such-prompt", "X"));
    });

    it("completion/complete of a hidden or denied prompt is refused like prompts/get; the upstream never sees it", async () => {
      const client = await proxy.client(KEYS.alice);
      const since = Date.now();
      const hidden = await outcome(
        client.complete({
          ref: { type: "ref/prompt", name: "resource-prompt" },
          argument: { name: "resourceType", value: "T" },
        }),
      );
      const missing = await outcome(
        client.complete({ ref: { type: "ref/prompt", name: "no-such-prompt" }, argument: { name: "x", value: "T" } }),
      );
      assert.equal(hidden.replace("resource-prompt", "X"), missing.replace("no-such-prompt", "X"));
      assert.match(
        await outcome(
          client.complete({
            ref: { type: "ref/prompt", name: "completable-prompt" },
            argument: { name: "department", value: "E" },
          }),
        ),
        /-32010 .*\[POLICY DENIED\]/,
      );
      const sent = tap.sentSince(since);
      assert.ok(
        !sent.includes("resource-prompt") && !sent.includes("completable-prompt"),
        "the upstream completed a refused prompt's arguments",
      );
      assert.ok(sent.includes("no-such-prompt"));
    });

    it("look-alikes of policed methods are answered as unknown methods and never forwarded", async () => {
      const client = await proxy.client(KEYS.alice);
      const since = Date.now();
      const params = {
        uri: `${DOC}architecture.md`,
        name: "resource-prompt",
        ref: { type: "ref/prompt", name: "resource-prompt" },
        argument: { name: "a", value: "" },
        taskId: "t",
      };
      for (const method of [
        "Resources/Read",
        "resources/read ",
        "ｒesources/read",
        "Prompts/Get",
        "completion/Complete",
        "Resources/Subscribe",
        "Tasks/Get",
        "tasks/update\u200b",
      ]) {
        assert.match(await outcome(client.request({ method, params }, ResultSchema)), /^-32601 /, method);
      }
      assert.ok(!tap.sentSince(since).includes("architecture.md") && !tap.sentSince(since).includes("resource-prompt"));
    });

    it("a batch mixing allowed and refused reads forwards only the allowed ones", async () => {
      const auth = { authorization: `Bearer ${KEYS.alice}` };
      const session = await rawInitialize(proxy.sidecar.url, auth);
      const since = Date.now();
      const read = (id: number, uri: string) => ({ jsonrpc: "2.0", id, method: "resources/read", params: { uri } });
      const answer = await rawPost(
        proxy.sidecar.url,
        [
          read(1, `${DOC}features.md`),
          read(2, `${DOC}architecture.md`),
          read(3, `${DOC}%73tructure.md`),
          read(4, `${DOC}a/../architecture.md`),
        ],
        {
          ...auth,
          "mcp-session-id": session,
          "mcp-protocol-version": "2025-03-26",
        },
      );
      const byId = new Map(messagesOf(answer).map((m) => [m.id, m]));
      assert.ok(byId.get(1)?.result, "the allowed read has no result");
      for (const id of [2, 3, 4]) assert.ok(byId.get(id)?.error, `read ${id} was not refused`);
      const sent = tap.sentSince(since);
      assert.ok(sent.includes("features.md") && !sent.includes("architecture.md") && !sent.includes("tructure.md"));
    });

    it("prompt argument rules: extra arguments do not hide a denied value; non-string arguments are refused", async () => {
      const client = await proxy.client(KEYS.alice);
      const since = Date.now();
      assert.match(
        await outcome(
          client.getPrompt({ name: "args-prompt", arguments: { city: "Atlantis", state: "x", extra: "y" } }),
        ),
        /-32010 .*\[POLICY DENIED\]/,
      );
      assert.ok(!tap.sentSince(since).includes("Atlantis"));
      for (const city of [["Atlantis"], { name: "Atlantis" }, 7]) {
        const typed = await outcome(
          client.request({ method: "prompts/get", params: { name: "args-prompt", arguments: { city } } }, ResultSchema),
        );
        assert.match(typed, /^-32602 .*arguments an object of strings/, JSON.stringify(city));
      }
      assert.ok(
        !tap.sentSince(since).includes("Atlantis") && !tap.sentSince(since).includes("args-prompt"),
        "the upstream received a prompt with non-string arguments",
      );
    });

    it("another caller cannot update, read or cancel a task, nor guess one; the upstream never sees those requests", async () => {
      const alice = await proxy.client(KEYS.alice);
      const aliceAgain = await proxy.client(KEYS.alice);
      const bob = await proxy.client(KEYS.bob);
      const created = await alice.request(
        {
          method: "tools/call",
          params: { name: "simulate-research-query", arguments: { topic: "update" }, task: { ttl: 60_000 } },
        },
        CreateTaskResultSchema,
      );
      const { taskId } = created.task;
      const since = Date.now();
      for (const method of ["tasks/update", "tasks/get", "tasks/result", "tasks/cancel"]) {
        assert.match(
          await outcome(bob.request({ method, params: { taskId, inputResponses: {} } }, ResultSchema)),
          /-32602 .*Task not found/,
          method,
        );
        assert.match(
          await outcome(bob.request({ method, params: { taskId: `${taskId}0` } }, ResultSchema)),
          /-32602 .*Task not found/,
          `${method} of a guessed id`,
        );
      }
      assert.ok(!tap.sentSince(since).includes(taskId), "the upstream received another caller's task request");
      // The task is its caller's, not its session's: the sidecar lets the same caller's other session ask
      // (this server keeps tasks per session and answers for itself).
      const again = Date.now();
      await outcome(aliceAgain.request({ method: "tasks/get", params: { taskId } }, ResultSchema));
      assert.ok(tap.sentSince(again).includes(taskId), "the caller's other session was refused by the sidecar");
    });
  },
);
