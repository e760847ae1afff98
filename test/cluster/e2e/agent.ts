// An AI agent's side of the end-to-end scenarios: a real MCP client (the TypeScript SDK) that
// authenticates to the sidecar with its own Kubernetes service-account token, and what it sees of
// the sidecar's decisions.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

export type Seen =
  { decision: "allowed" } | { decision: "denied" | "rate_limited" | "approval_required"; text: string };

export async function connectAgent(url: string, token: string): Promise<Client> {
  const client = new Client({ name: "e2e-agent", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
  );
  return client;
}

/** Calls a tool and says how the sidecar decided (the upstream's own errors count as allowed). */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Seen> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((c) => (c.type === "text" ? c.text : "")).join("");
  if (result.isError && text.startsWith("[POLICY DENIED]")) return { decision: "denied", text };
  if (result.isError && text.startsWith("[RATE LIMITED]")) return { decision: "rate_limited", text };
  if (result.isError && text.startsWith("[APPROVAL REQUIRED]")) return { decision: "approval_required", text };
  return { decision: "allowed" };
}

/** Nearest-rank percentile of measurements (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error("no measurements");
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
