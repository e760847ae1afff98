// What the sidecar adds in front of the real FastMCP (`npm run bench:kestra`): the FastMCP Kestra test
// server (test/python/kestra, started as the injector starts Kestra's) called by the TypeScript SDK
// client directly and through the `mcp-warden sidecar` process enforcing the generated balanced
// policy, one call in flight, in alternating rounds. Prints medians over rounds of the per-round p50
// and p99, the difference, and CPU per call of the sidecar and of FastMCP. Figures, not a verdict.
//
// Environment: BENCH_ROUNDS (default 5), BENCH_CALLS (calls per round and target, default 200).
import { mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { recommendKestraPolicy } from "../../policy/catalog/recommend.ts";
import { renderPolicyYaml } from "../../policy/render.ts";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { startKestraFastMcp } from "../../test/upstreams/kestra-fastmcp.ts";
import { cpuSeconds, withChildren } from "../proxy/proc.ts";
import { startSidecar } from "../proxy/processes.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 200);
const TOKEN = "bench-agent-key";
const WORKLOADS: Record<string, (c: Client) => Promise<unknown>> = {
  "tools/list (39 tools, SSE; filtered by the sidecar)": (c) => c.listTools(),
  "list_namespaces (~0.2 KB)": (c) => c.callTool({ name: "list_namespaces", arguments: {} }),
  "list_executions, 6 executions (~3 KB)": (c) =>
    c.callTool({ name: "list_executions", arguments: { namespace: "company.team" } }),
  "manage_kv_store delete (denied by the sidecar)": (c) =>
    c.callTool({ name: "manage_kv_store", arguments: { namespace: "company.team", action: "delete", key: "k" } }),
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] as number;
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function connect(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: "bench-agent", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} },
    }),
  );
  return client;
}

async function round(client: Client, call: (c: Client) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const started = performance.now();
    await call(client);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-bench-kestra-"));
  writeFileSync(join(dir, "keys"), `${grantLine("bench", TOKEN)}\n`);
  const { resource } = recommendKestraPolicy("balanced", "kestra", "bench", "api-keys");
  writeFileSync(join(dir, "policy.yaml"), renderPolicyYaml(resource));
  const kestra = await startKestraFastMcp();
  const sidecar = await startSidecar(join(dir, "policy.yaml"), join(dir, "keys"), kestra.url);
  const fastmcpPids = withChildren(kestra.peer.child.pid as number);
  const sidecarPids = withChildren(sidecar.child.pid as number);
  const direct = await connect(kestra.url);
  const proxied = await connect(sidecar.url, TOKEN);
  console.log(
    `FastMCP Kestra server ↔ TypeScript SDK client, 1 call in flight, ${ROUNDS} rounds × ${CALLS} calls per target; ${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(1)}`,
  );
  console.log(
    `${"workload".padEnd(52)}${"direct p50".padStart(12)}${"sidecar p50".padStart(13)}${"added p50".padStart(11)}${"direct p99".padStart(12)}${"sidecar p99".padStart(13)}${"sidecar CPU/call".padStart(18)}${"FastMCP CPU/call".padStart(18)}`,
  );
  try {
    for (const [name, call] of Object.entries(WORKLOADS)) {
      for (let i = 0; i < 20; i++) await Promise.all([call(direct), call(proxied)]); // warm-up
      const stats = {
        d50: [] as number[],
        s50: [] as number[],
        d99: [] as number[],
        s99: [] as number[],
        sidecarCpu: [] as number[],
        fastmcpCpu: [] as number[],
      };
      for (let r = 0; r < ROUNDS; r++) {
        const d = await round(direct, call);
        const sidecarBefore = cpuSeconds(sidecarPids);
        const fastmcpBefore = cpuSeconds(fastmcpPids);
        const s = await round(proxied, call);
        stats.sidecarCpu.push(((cpuSeconds(sidecarPids) - sidecarBefore) / CALLS) * 1000);
        stats.fastmcpCpu.push(((cpuSeconds(fastmcpPids) - fastmcpBefore) / CALLS) * 1000);
        stats.d50.push(quantile(d, 0.5));
        stats.s50.push(quantile(s, 0.5));
        stats.d99.push(quantile(d, 0.99));
        stats.s99.push(quantile(s, 0.99));
      }
      const [d50, s50] = [median(stats.d50), median(stats.s50)];
      console.log(
        `${name.padEnd(52)}${ms(d50).padStart(12)}${ms(s50).padStart(13)}${`${s50 >= d50 ? "+" : ""}${(s50 - d50).toFixed(2)} ms`.padStart(11)}${ms(median(stats.d99)).padStart(12)}${ms(median(stats.s99)).padStart(13)}` +
          `${ms(median(stats.sidecarCpu)).padStart(18)}${ms(median(stats.fastmcpCpu)).padStart(18)}`,
      );
    }
  } finally {
    await direct.close();
    await proxied.close();
    await sidecar.stop();
    await kestra.stop();
  }
}

await main();
