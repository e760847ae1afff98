// `mcp-warden policy scan --url URL [--header "Name: value"]… [--name N] [--namespace NS]`: connects to a
// running MCP server, lists its tools (every page) and prints a default-deny McpPolicy scaffold.
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { scaffoldPolicy, type ListedTool } from "../policy/scaffold.ts";
import { renderPolicyYaml } from "../policy/render.ts";
import { UsageError } from "./usage-error.ts";

export const scanUsage = 'mcp-warden policy scan --url URL [--header "Name: value"]... [--name N] [--namespace NS]';
const MAX_PAGES = 1_000;

export async function runPolicyScan(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: "string" },
      header: { type: "string", multiple: true, default: [] },
      name: { type: "string", default: "mcp-server" },
      namespace: { type: "string" },
    },
  });
  if (!values.url) throw new UsageError("policy scan needs --url URL");
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw new UsageError(`--url is not a URL: ${values.url}`);
  }
  const headers: Record<string, string> = {};
  for (const h of values.header) {
    const colon = h.indexOf(":");
    if (colon <= 0) throw new UsageError(`--header must look like "Name: value", got "${h}"`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }

  const client = new Client({ name: "mcp-warden-scan", version: "1" });
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  const tools: ListedTool[] = [];
  try {
    await client.connect(transport);
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await client.listTools(cursor === undefined ? {} : { cursor });
      tools.push(...(result.tools as ListedTool[]));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
  } catch (err) {
    process.stderr.write(`mcp-warden: cannot list the tools of ${url.href}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await client.close().catch(() => undefined);
  }
  const server = client.getServerVersion();
  const { resource, comments } = scaffoldPolicy(tools, values.name, values.namespace);
  const header = [
    `McpPolicy scaffold for ${server ? `${server.name} ${server.version}` : "an MCP server"} at ${url.href} (mcp-warden policy scan).`,
    `${tools.length} tools. Read-only tools (by their annotations) are allowed; review every rule before applying.`,
  ].join("\n");
  process.stdout.write(renderPolicyYaml(resource, { header, toolComments: comments }));
  return 0;
}
