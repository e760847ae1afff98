// Lists a running MCP server's tools with the SDK client, every page, as the server sent them: the
// tools are not reshaped by the SDK's schemas (so their digests are the ones the sidecar computes).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { z } from "zod";
import { UsageError } from "./usage-error.ts";

const ListPage = z.looseObject({ tools: z.array(z.unknown()), nextCursor: z.string().optional() });
const MAX_PAGES = 1_000;

export interface ServerListing {
  server: string;
  tools: Record<string, unknown>[];
}

/** `--header "Name: value"` flags as request headers. */
export function headersOf(flags: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of flags) {
    const colon = h.indexOf(":");
    if (colon <= 0) throw new UsageError(`--header must look like "Name: value", got "${h}"`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  return headers;
}

export function urlOf(text: string | undefined, command: string): URL {
  if (!text) throw new UsageError(`${command} needs --url URL`);
  try {
    return new URL(text);
  } catch {
    throw new UsageError(`--url is not a URL: ${text}`);
  }
}

export async function listServerTools(
  url: URL,
  headers: Record<string, string>,
  clientName: string,
): Promise<ServerListing> {
  const client = new Client({ name: clientName, version: "1" });
  try {
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
    const tools: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await client.request(
        { method: "tools/list", params: cursor === undefined ? {} : { cursor } },
        ListPage,
      );
      for (const tool of result.tools) {
        if (typeof tool !== "object" || tool === null || typeof (tool as { name?: unknown }).name !== "string")
          throw new Error("the server listed a tool without a name");
        tools.push(tool as Record<string, unknown>);
      }
      cursor = result.nextCursor;
      if (cursor === undefined) {
        const version = client.getServerVersion();
        return { server: version ? `${version.name} ${version.version}` : "an MCP server", tools };
      }
      if (seen.has(cursor)) throw new Error(`tools/list repeats the cursor ${JSON.stringify(cursor.slice(0, 64))}`);
      seen.add(cursor);
    }
    throw new Error(`tools/list has more than ${MAX_PAGES} pages`);
  } finally {
    await client.close().catch(() => undefined);
  }
}
