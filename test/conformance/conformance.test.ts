// The MCP conformance suite (@modelcontextprotocol/conformance, server scenarios) run directly against
// server-everything and again through the sidecar: every check that passes directly must pass through
// the sidecar. The policy admits anonymous callers (the suite sends no credentials) and decides
// nothing away: what is compared is the proxying, not a policy.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { startServerEverything, type ServerEverything } from "../upstreams/server-everything.ts";

const run = promisify(execFile);
const CONFORMANCE = new URL("../../node_modules/@modelcontextprotocol/conformance/dist/index.js", import.meta.url)
  .pathname;
const POLICY = mcpPolicy(`
default: allow
identity: {anonymous: true}
resources: {default: allow}
prompts: {default: allow}
`);

interface Check {
  id: string;
  name?: string;
  status: string;
}

/** Runs every server scenario against `url`; the checks of all scenarios by "scenario/check id". */
async function conformance(url: string): Promise<Map<string, string>> {
  const out = mkdtempSync(join(tmpdir(), "mcp-warden-conformance-"));
  // Exit status 1 means some check failed; the comparison below is what decides.
  await run(process.execPath, [CONFORMANCE, "server", "--url", url, "--output-dir", out], {
    cwd: out,
    timeout: 240_000,
    maxBuffer: 64 << 20,
  }).catch((err: { code?: number; stderr?: string }) => {
    if (typeof err.code !== "number") throw err;
  });
  const checks = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name === "checks.json") {
        const scenario = dir.slice(out.length + 1).replace(/-\d{4}-\d{2}-\d{2}T[\d-]+(Z|\.\d+Z)?$/, "");
        for (const c of JSON.parse(readFileSync(path, "utf8")) as Check[]) checks.set(`${scenario}/${c.id}`, c.status);
      }
    }
  };
  walk(out);
  return checks;
}

describe("MCP conformance suite: directly and through the sidecar", { timeout: 600_000 }, () => {
  let everything: ServerEverything;
  let direct: string;
  let proxy: ProxyHarness;
  before(async () => {
    everything = await startServerEverything();
    direct = everything.url;
    proxy = await startProxy(direct, { policy: POLICY, apiKeys: null });
  });
  after(async () => {
    await proxy?.close();
    await everything?.stop();
  });

  it("passes through the sidecar every check that passes directly", async () => {
    const directly = await conformance(direct);
    const proxied = await conformance(proxy.sidecar.url);
    const passing = [...directly].filter(([, status]) => status === "SUCCESS").map(([id]) => id);
    assert.ok(passing.length >= 10, `only ${passing.length} checks pass directly: ${JSON.stringify([...directly])}`);
    const lost = passing
      .filter((id) => proxied.get(id) !== "SUCCESS")
      .map((id) => `${id}: ${proxied.get(id) ?? "missing"}`);
    assert.deepEqual(lost, [], "checks that pass directly but not through the sidecar");
    process.stdout.write(
      `conformance: ${passing.length} checks pass directly, all of them through the sidecar (${directly.size} checks in all)\n`,
    );
  });
});
