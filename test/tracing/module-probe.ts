// Run as its own process by lazy-sdk.test.ts: starts a sidecar in-process with --tracing as given
// in argv[2], serves one tool call, and prints every module URL that was loaded, as JSON. The
// project's modules are imported after the hook is registered (Node built-ins are no concern).
import { mkdtempSync, writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const loaded: string[] = [];
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    loaded.push(resolved.url);
    return resolved;
  },
});

const { startSidecar } = await import("../../sidecar/sidecar.ts");
const { parseSidecarConfig } = await import("../../sidecar/config.ts");
const { startRecordingUpstream } = await import("./recording-upstream.ts");
const { grantLine } = await import("../../sidecar/identity/api-keys.ts");

const upstream = await startRecordingUpstream();
const dir = mkdtempSync(join(tmpdir(), "mcp-warden-probe-"));
const policy = join(dir, "policy.yaml");
writeFileSync(
  policy,
  "apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: probe, namespace: agents}\nspec:\n  default: allow\n",
);
const apiKeys = join(dir, "api-keys");
writeFileSync(apiKeys, `${grantLine("probe", "probe-secret-key-0001")}\n`);
const config = parseSidecarConfig(
  [
    "--policy",
    policy,
    "--api-keys",
    apiKeys,
    "--upstream",
    upstream.url,
    "--listen",
    "127.0.0.1:0",
    "--admin-listen",
    "127.0.0.1:0",
    "--tracing",
    process.argv[2] as string,
    "--log-level",
    "error",
  ],
  {},
);
const sidecar = await startSidecar({ config, processMetrics: false });
const answer = await fetch(sidecar.url, {
  method: "POST",
  headers: {
    authorization: "Bearer probe-secret-key-0001",
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  },
  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list_flows", arguments: {} } }),
});
const text = await answer.text();
await sidecar.shutdown(1000);
await upstream.close();
process.stdout.write(`\n${JSON.stringify({ status: answer.status, text, loaded })}\n`);
