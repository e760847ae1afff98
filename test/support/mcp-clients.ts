// TypeScript SDK clients for tests that talk to sidecars they did not start in-process (real sidecar
// processes): connect with an API key, and sort tool results into what the agent saw.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export async function connectClient(url: string, key: string, name = "test-agent"): Promise<Client> {
  const client = new Client({ name, version: "1.0.0" }, { capabilities: {} });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
  );
  return client;
}

export type SeenOutcome = "allowed" | "denied" | "rate_limited" | "approval_required" | "tool_error" | "failed";

export interface ToolResultLike {
  isError?: boolean;
  content?: { type: string; text?: string }[];
}

export function textOf(result: unknown): string {
  return (result as ToolResultLike).content?.[0]?.text ?? "";
}

/** What a tool result says happened, as an agent reads it. */
export function outcomeOf(result: unknown): SeenOutcome {
  const r = result as ToolResultLike;
  if (r.isError !== true) return "allowed";
  const text = textOf(r);
  if (text.startsWith("[RATE LIMITED]")) return "rate_limited";
  if (text.startsWith("[POLICY DENIED]")) return "denied";
  if (text.startsWith("[APPROVAL REQUIRED]")) return "approval_required";
  return "tool_error";
}

/** Counts of each value. */
export function tally<T extends string>(values: readonly T[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
