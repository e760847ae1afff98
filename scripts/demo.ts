// `npm run demo`: a Kestra-compatible MCP server, the mcp-warden sidecar in front of it (the real CLI,
// as a process) with the first Kestra example policy, and a scripted agent (the MCP TypeScript SDK
// client) showing what each decision looks like to an agent, then the metrics for them.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { grantLine } from "../sidecar/identity/api-keys.ts";
import { startKestraDouble } from "../test/upstreams/kestra-double.ts";
import { freePort } from "../test/support/ports.ts";

const root = new URL("..", import.meta.url).pathname;
const FIRST_EXAMPLE = "examples/kestra-resume.policylayer.json";
const WITH_HIDE = "examples/kestra-resume-hide.mcppolicy.yaml";
const AGENT_KEY = "demo-agent-key-not-a-secret";
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = "") => process.stdout.write(`${s}\n`);
const short = (s: string, n = 150) => (s.length > n ? `${s.slice(0, n)}…` : s);
type Result = { isError?: boolean; content: { type: string; text?: string }[] };

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-demo-"));
  // A PolicyLayer document is named after its file.
  const policyFile = join(dir, "kestra-resume.json");
  copyFileSync(join(root, FIRST_EXAMPLE), policyFile);
  writeFileSync(join(dir, "api-keys"), `${grantLine("demo-agent", AGENT_KEY)}\n`);
  const kestra = await startKestraDouble();
  const [port, adminPort] = [await freePort(), await freePort()];
  const args = [
    "sidecar",
    "--policy",
    policyFile,
    "--upstream",
    kestra.url,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${adminPort}`,
    "--api-keys",
    join(dir, "api-keys"),
    "--reload-debounce",
    "50ms",
  ];
  const sidecar = spawn(process.execPath, [join(root, "cli/mcp-warden.ts"), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let audit = "";
  let logs = "";
  sidecar.stdout.on("data", (d: Buffer) => (audit += d.toString()));
  sidecar.stderr.on("data", (d: Buffer) => (logs += d.toString()));
  const cleanup = async () => {
    if (sidecar.exitCode === null) {
      sidecar.kill("SIGTERM");
      await new Promise((resolve) => sidecar.once("exit", resolve));
    }
    await kestra.close();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    say(bold("mcp-warden demo: an agent calling the Kestra MCP server through the enforcing sidecar"));
    say(`  upstream  Kestra-compatible MCP server (39 tools) at ${kestra.url}`);
    say(
      `  sidecar   mcp-warden sidecar --policy ${FIRST_EXAMPLE} (a copy the demo edits later) --upstream … --listen 127.0.0.1:${port} --api-keys …`,
    );
    say(
      `  policy    the first Kestra example: resume_execution allowed, 10 calls per minute per caller; everything else denied`,
    );
    await waitFor(
      () => /"msg":"sidecar started"/.test(logs),
      () => logs,
    );

    const client = new Client({ name: "demo-agent", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${AGENT_KEY}` } },
      }),
    );
    say(`  agent     MCP TypeScript SDK client, API key of grant "demo-agent"\n`);

    say(bold("1. The agent lists the tools"));
    say(`   tools/list → ${(await client.listTools()).tools.length} tools\n`);

    say(bold("2. An allowed call"));
    const allowed = (await client.callTool({
      name: "resume_execution",
      arguments: { namespace: "company.team", flow_id: "nightly-etl" },
    })) as Result;
    say(`   resume_execution → ${short(allowed.content[0]?.text ?? "")}\n`);

    say(bold("3. A call the policy does not name (default deny): it never reaches Kestra"));
    const denied = (await client.callTool({
      name: "list_executions",
      arguments: { namespace: "company.team" },
    })) as Result;
    say(`   list_executions → isError: ${denied.isError}, ${short(denied.content[0]?.text ?? "", 170)}\n`);

    say(bold("4. A runaway agent: a burst of 12 resume_execution calls"));
    for (let i = 2; i <= 13; i++) {
      const r = (await client.callTool({
        name: "resume_execution",
        arguments: { namespace: "company.team", flow_id: "nightly-etl" },
      })) as Result;
      const text = r.content[0]?.text ?? "";
      if (r.isError || i === 2 || i === 10)
        say(`   call ${String(i).padStart(2)} → ${r.isError ? short(text, 160) : "allowed"}`);
      else if (i === 3) say("   …");
    }
    say(`   Kestra received ${kestra.calls.length} calls: the 11th and later were answered by the sidecar.\n`);

    say(bold("5. The operator adds a hide entry (policy file rewritten, reloaded live)"));
    copyFileSync(join(root, WITH_HIDE), `${policyFile}.new`);
    renameSync(`${policyFile}.new`, policyFile); // whole, as the kubelet swaps a ConfigMap
    await waitFor(
      () =>
        logs.split("\n").some((l) => l.includes('"msg":"policy reloaded"') && l.includes('"policy":"agents/kestra"')),
      () => logs,
    );
    say(`   policy    ${WITH_HIDE}: the same rule as an McpPolicy, plus hide: [force_run_execution]`);
    say(`   tools/list → ${(await client.listTools()).tools.length} tools (force_run_execution is gone)`);
    const hidden = await client.callTool({ name: "force_run_execution", arguments: { execution_id: "4Jq0" } }).then(
      (r) =>
        `isError: ${(r as Result).isError}, ${(r as Result).content[0]?.text ?? ""} (as Kestra answers a tool it does not have)`,
      (err: unknown) =>
        err instanceof McpError
          ? `JSON-RPC error ${err.code}: ${err.message.replace(/^MCP error -?\d+: /, "")}`
          : String(err),
    );
    say(`   force_run_execution → ${hidden}`);
    const still = (await client.callTool({ name: "resume_execution", arguments: {} })) as Result;
    say(`   resume_execution → ${still.isError ? "still rate limited: the reload kept the counters" : "allowed"}\n`);
    await client.close();

    say(bold(`6. What Prometheus scrapes from http://127.0.0.1:${adminPort}/metrics`));
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    for (const line of metrics.split("\n")) {
      if (/^mcp_warden_(tool_calls_total|policy_reloads_total|policy_info)\{/.test(line)) say(`   ${line}`);
    }
    const auditLines = audit.split("\n").filter((l) => l.includes('"audit":true'));
    say(`\n   …and ${auditLines.length} audit lines on the sidecar's stdout, one per decision, e.g.:`);
    say(`   ${short(auditLines.find((l) => l.includes('"rate_limited"')) ?? "", 400)}`);
    return 0;
  } catch (err) {
    process.stderr.write(`demo failed: ${(err as Error).message}\n--- sidecar logs ---\n${logs}\n`);
    return 1;
  } finally {
    await cleanup();
  }
}

async function waitFor(ready: () => boolean, context: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out; the sidecar said:\n${context()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

process.exitCode = await main();
