// `mcp-warden sidecar` as a process: help and usage errors, startup errors, the two log streams, and
// graceful shutdown on SIGTERM (in-flight calls finish, streams close, exit 0, bounded by the grace).
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { KEYS } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { runPeer, startPeer, type Peer } from "../support/processes.ts";
import { startControllableServer } from "../upstreams/controllable-server.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { freePort } from "../support/ports.ts";
import { eventually } from "../support/eventually.ts";

const CLI = new URL("../../cli/mcp-warden.ts", import.meta.url).pathname;
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runPeer(process.execPath, [CLI, ...args], { env, timeoutMs: 30_000 });

function files(policy: string) {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-cli-"));
  writeFileSync(join(dir, "policy.yaml"), policy);
  writeFileSync(join(dir, "keys"), `${grantLine("alice", KEYS.alice)}\n`);
  return { policy: join(dir, "policy.yaml"), keys: join(dir, "keys") };
}

describe("mcp-warden sidecar (process)", { timeout: 90_000 }, () => {
  const peers: Peer[] = [];
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
  });

  it("documents every option with its environment variable", async () => {
    const help = await cli(["sidecar", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--policy FILE\|k8s:\/\/NS\/NAME\s+MCP_WARDEN_POLICY/);
    assert.match(help.stdout, /--admin-listen HOST:PORT\s+MCP_WARDEN_ADMIN_LISTEN/);
    const listed = await cli(["--help"]);
    assert.match(listed.stdout, /mcp-warden sidecar --policy/);
  });

  it("exits 2 on usage errors and 1 on startup errors, saying why", async () => {
    const usage = await cli(["sidecar"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--policy \(or MCP_WARDEN_POLICY\) is required/);
    const { policy } = files(mcpPolicy("default: sometimes"));
    const invalid = await cli([
      "sidecar",
      "--policy",
      policy,
      "--listen",
      "127.0.0.1:0",
      "--admin-listen",
      "127.0.0.1:0",
    ]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /the policy from file .* is invalid\n {2}spec\.default: /);
    const k8s = await cli(["sidecar", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], {
      MCP_WARDEN_POLICY: "k8s://agents/kestra",
    });
    assert.equal(k8s.code, 1);
    assert.match(
      k8s.stderr,
      /cannot read the policy from McpPolicy agents\/kestra: no Kubernetes configuration: not in a cluster/,
    );
  });

  it("on SIGTERM stops being ready, lets the in-flight call finish, closes streams and exits 0", async () => {
    const upstream = await startControllableServer();
    const [port, adminPort] = [await freePort(), await freePort()];
    const { policy, keys } = files(mcpPolicy("default: allow"));
    const sidecar = startPeer(process.execPath, [
      CLI,
      "sidecar",
      "--policy",
      policy,
      "--api-keys",
      keys,
      "--upstream",
      upstream.url,
      "--listen",
      `127.0.0.1:${port}`,
      "--admin-listen",
      `127.0.0.1:${adminPort}`,
      "--shutdown-grace",
      "20s",
    ]);
    peers.push(sidecar);
    try {
      await sidecar.waitFor(/"msg":"sidecar started"/);
      const client = new Client({ name: "c", version: "1" });
      const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } },
      });
      await client.connect(transport);
      const call = client.callTool({ name: "gate", arguments: {} });
      await upstream.started;
      const exited = new Promise<number | null>((resolve) => sidecar.child.once("exit", (code) => resolve(code)));
      sidecar.child.kill("SIGTERM");
      await sidecar.waitFor(/"msg":"shutting down"/);
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined))?.status === 503,
        "readiness to fail",
      );
      await assert.rejects(fetch(`http://127.0.0.1:${port}/mcp`, { method: "POST" }), "no new connections");
      upstream.open();
      assert.deepEqual(((await call) as { content: unknown[] }).content, [{ type: "text", text: "gate passed" }]);
      assert.equal(await exited, 0);
      const out = sidecar.output();
      assert.match(out, /"audit":true.*"tool":"gate".*"upstreamOutcome":"ok"/, "the call's audit line, on stdout");
      assert.match(out, /"msg":"sidecar stopped"/);
      await client.close().catch(() => undefined);
    } finally {
      await upstream.close();
    }
  });

  it("gives up on calls that outlast the grace period, and still exits 0", async () => {
    const upstream = await startControllableServer();
    const [port, adminPort] = [await freePort(), await freePort()];
    const { policy, keys } = files(mcpPolicy("default: allow"));
    const sidecar = startPeer(
      process.execPath,
      [CLI, "sidecar", "--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${adminPort}`],
      {
        env: {
          MCP_WARDEN_POLICY: policy,
          MCP_WARDEN_API_KEYS: keys,
          MCP_WARDEN_UPSTREAM: upstream.url,
          MCP_WARDEN_SHUTDOWN_GRACE: "500ms",
        },
      },
    );
    peers.push(sidecar);
    try {
      await sidecar.waitFor(/"msg":"sidecar started"/);
      const client = new Client({ name: "c", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } },
        }),
      );
      // A short client timeout: the SDK client waits for its own timeout after a stream is cut.
      const call = client
        .callTool({ name: "gate", arguments: {} }, undefined, { timeout: 3000 })
        .catch((e: unknown) => e);
      await upstream.started;
      const exited = new Promise<number | null>((resolve) => sidecar.child.once("exit", (code) => resolve(code)));
      sidecar.child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.match(sidecar.output(), /shutdown grace period over; closing what is still open/);
      assert.ok((await call) instanceof Error, "the client saw its call cut off");
    } finally {
      await upstream.close();
    }
  });
});
