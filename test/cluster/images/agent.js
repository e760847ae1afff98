// An in-cluster MCP caller for the node-backed suites: an HTTP server (port 8080 or $AGENT_PORT) that
// a test drives from outside the pod; each request makes MCP calls from inside the pod with the MCP
// SDK's client, authenticated with the pod's projected service-account token.
//
//   POST /calls {url, calls: [{name, arguments}], token?: "projected" | "none" | <literal>, tokenPath?}
//     → {results: [{ok, result | error, ms}]}        one session, calls in order
//   POST /fetch {url, method?, headers?, body?, timeoutMs?} → {status, body} | {error}   plain HTTP
//   GET /healthz → ok
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const port = Number(process.env.AGENT_PORT ?? 8080);
const defaultTokenPath = process.env.AGENT_TOKEN_PATH ?? "/var/run/secrets/tokens/mcp-warden";

function token(request) {
  if (request.token === "none") return undefined;
  if (request.token && request.token !== "projected") return request.token;
  return readFileSync(request.tokenPath ?? defaultTokenPath, "utf8").trim();
}

async function calls(request) {
  const bearer = token(request);
  const transport = new StreamableHTTPClientTransport(new URL(request.url), {
    requestInit: { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} },
  });
  const client = new Client({ name: "mcp-warden-test-agent", version: "1.0.0" });
  const results = [];
  try {
    await client.connect(transport);
    for (const call of request.calls ?? []) {
      const started = performance.now();
      try {
        const result = call.name === "tools/list" ? await client.listTools() : await client.callTool({ name: call.name, arguments: call.arguments ?? {} });
        results.push({ ok: true, result, ms: performance.now() - started });
      } catch (error) {
        results.push({ ok: false, error: String(error?.message ?? error), code: error?.code, ms: performance.now() - started });
      }
    }
  } catch (error) {
    return { connectError: String(error?.message ?? error), results };
  } finally {
    await client.close().catch(() => undefined);
  }
  return { results };
}

async function plainFetch(request) {
  try {
    const response = await fetch(request.url, {
      method: request.method ?? "GET",
      headers: request.headers ?? {},
      body: request.body,
      signal: AbortSignal.timeout(request.timeoutMs ?? 3000),
    });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { error: String(error?.cause?.code ?? error?.cause?.message ?? error?.message ?? error) };
  }
}

const server = createServer(async (req, res) => {
  try {
    if (req.method === "GET" && req.url === "/healthz") {
      res.end("ok");
      return;
    }
    let body = "";
    for await (const chunk of req) body += chunk;
    const request = JSON.parse(body || "{}");
    const answer = req.url === "/calls" ? await calls(request) : req.url === "/fetch" ? await plainFetch(request) : undefined;
    if (!answer) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  } catch (error) {
    res.writeHead(500, { "content-type": "text/plain" }).end(String(error?.stack ?? error));
  }
});
server.listen(port, "0.0.0.0", () => console.log(`agent listening on ${port}`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
