import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { runCli, tempFile } from "./testing.ts";

// An upstream built on the real SDK server that pages its tools/list (3 pages of 2).
const TOOLS = [
  {
    name: "list_flows",
    description: "List flows",
    annotations: { readOnlyHint: true },
    inputSchema: { type: "object", properties: { namespace: { type: "string" } }, required: ["namespace"] },
  },
  {
    name: "delete_flow",
    description: "Delete a flow\nforever",
    annotations: { destructiveHint: true },
    inputSchema: { type: "object" },
  },
  {
    name: "get_logs",
    description: "Read logs",
    annotations: { readOnlyHint: true, openWorldHint: true },
    inputSchema: { type: "object" },
  },
  {
    name: "execute_flow",
    description: "Run a flow",
    inputSchema: { type: "object", properties: { flow_id: { type: "string" } } },
  },
  { name: "wipe", annotations: { readOnlyHint: true, destructiveHint: true }, inputSchema: { type: "object" } },
  { name: "search", description: "Search", inputSchema: { type: "object" } },
];

let http: HttpServer;
let url: string;
const seenHeaders: IncomingHttpHeaders[] = [];

before(async () => {
  http = createServer((req, res) => {
    seenHeaders.push(req.headers);
    const server = new Server({ name: "paged-upstream", version: "2.1.0" }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, (request) => {
      const start = Number(request.params?.cursor ?? 0);
      const next = start + 2;
      return { tools: TOOLS.slice(start, next), ...(next < TOOLS.length ? { nextCursor: String(next) } : {}) };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => void transport.close());
    void server.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
});
after(() => new Promise<void>((resolve) => http.close(() => resolve())));

test("policy scan lists every page and prints a default-deny scaffold that lints clean", async () => {
  const scan = await runCli(
    "policy",
    "scan",
    "--url",
    url,
    "--header",
    "Authorization: Bearer scan-token",
    "--name",
    "flows",
    "--namespace",
    "agents",
  );
  assert.equal(scan.code, 0, scan.stderr);
  assert.match(scan.stdout, /^# McpPolicy scaffold for paged-upstream 2\.1\.0 at http:\/\/127\.0\.0\.1:\d+\/mcp/);
  assert.match(scan.stdout, /# 6 tools\./);
  for (const tool of TOOLS) assert.match(scan.stdout, new RegExp(`- name: ${tool.name}\\n`), tool.name);
  assert.match(
    scan.stdout,
    /# List flows \| hints: readOnly \| args: namespace\*\n {4}- name: list_flows\n {6}action: allow\n/,
  );
  assert.match(
    scan.stdout,
    /# Delete a flow forever \| hints: destructive\n {4}- name: delete_flow\n {6}action: deny\n/,
  );
  assert.match(scan.stdout, /- name: wipe\n {6}action: deny/, "read-only but destructive is not allowed");
  assert.match(scan.stdout, /- name: search\n {6}action: deny/, "no annotations: denied until reviewed");
  assert.match(scan.stdout, /default: deny/);
  assert.ok(
    seenHeaders.every((h) => h.authorization === "Bearer scan-token"),
    "the header reaches the server",
  );

  const lint = await runCli("policy", "lint", await tempFile("scaffold.yaml", scan.stdout));
  assert.equal(lint.code, 0, lint.stderr);
});

test("policy scan reports an unreachable server", async () => {
  const r = await runCli("policy", "scan", "--url", "http://127.0.0.1:9/mcp");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot list the tools of http:\/\/127\.0\.0\.1:9\/mcp/);
  const usage = await runCli("policy", "scan", "--url", "not a url");
  assert.equal(usage.code, 2);
});
