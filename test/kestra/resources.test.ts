// Resources of the Kestra test server (FastMCP 3) under policy, with the Python SDK and the TypeScript
// SDK v1 clients: allowed, denied and hidden reads and lists, judged by the reads FastMCP logged.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { McpError } from "@modelcontextprotocol/sdk/types.js";
import { runPythonClient } from "../support/python-client.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startKestraFastMcp, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";

const POLICY = mcpPolicy(`
default: allow
resources:
  rules:
    - uri: "kestra://instance/info"
    - uri: "kestra://secrets/dev"
      action: deny
      reason: "Secrets of dev are read through the Kestra UI."
    - uri: "kestra://secrets/*"
      action: hide
`);

const reads = (kestra: KestraFastMcp): string[] =>
  kestra.peer
    .output()
    .split("\n")
    .flatMap((l) => {
      if (!l.startsWith("{")) return [];
      const line = JSON.parse(l) as { event?: string; uri?: string };
      return line.event === "resource_read" && line.uri ? [line.uri] : [];
    });

describe("Kestra test server resources under policy", { timeout: 120_000 }, () => {
  let kestra: KestraFastMcp;
  let proxy: ProxyHarness;
  before(async () => {
    kestra = await startKestraFastMcp();
    proxy = await startProxy(kestra.url, { policy: POLICY });
  });
  after(async () => {
    await proxy?.close();
    await kestra?.stop();
  });

  it("Python SDK client: allowed, denied and hidden reads; the hidden template leaves the list", async () => {
    const lines = await runPythonClient(
      proxy.sidecar.url,
      [
        ["resources/read", { uri: "kestra://instance/info" }],
        ["resources/read", { uri: "kestra://secrets/dev" }],
        ["resources/read", { uri: "kestra://secrets/prod" }],
        ["resources/list", {}],
        ["resources/templates/list", {}],
      ],
      KEYS.alice,
    );
    const [, info, denied, hidden, list, templates] = lines as Record<string, Record<string, unknown>>[];
    assert.match(JSON.stringify(info?.ok), /OSS/);
    assert.equal(denied?.error?.code, -32010);
    assert.match(String(denied?.error?.message), /Secrets of dev are read through the Kestra UI/);
    assert.equal(hidden?.error?.code, -32002);
    assert.deepEqual(
      (list?.ok as { resources: { uri: string }[] }).resources.map((r) => r.uri),
      ["kestra://instance/info"],
    );
    assert.deepEqual((templates?.ok as { resourceTemplates: unknown[] }).resourceTemplates, []);
    assert.deepEqual(reads(kestra), ["kestra://instance/info"], "FastMCP ran only the allowed read");
  });

  it("TypeScript SDK v1 client: the same, and the template is served directly", async () => {
    const client = await proxy.client(KEYS.bob);
    const before = reads(kestra).length;
    assert.match(JSON.stringify(await client.readResource({ uri: "kestra://instance/info" })), /OSS/);
    await assert.rejects(client.readResource({ uri: "kestra://secrets/prod" }), (err: McpError) => err.code === -32002);
    assert.deepEqual(reads(kestra).slice(before), ["kestra://instance/info"]);
    const direct = await runPythonClient(kestra.url, [["resources/templates/list", {}]]);
    assert.equal(
      (direct[1] as { ok: { resourceTemplates: unknown[] } }).ok.resourceTemplates.length,
      1,
      "the server does serve the template",
    );
  });
});
