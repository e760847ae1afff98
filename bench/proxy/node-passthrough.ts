// A baseline for the benchmark: the least a Node reverse proxy does (node:http in, an undici Pool out,
// the body parsed once, hop-by-hop headers dropped), with no policy, identity, metrics or logs. The
// distance between it and the sidecar is what enforcement costs; its distance to nginx is what Node costs.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Pool } from "undici";

const upstream = new URL(process.argv[2] as string);
const port = Number(process.argv[3]);
const pool = new Pool(upstream.origin, { bodyTimeout: 0 });
const DROP_IN = new Set(["host", "connection", "content-length", "authorization", "keep-alive", "transfer-encoding"]);
const DROP_OUT = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);

async function relay(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = chunks.length ? Buffer.concat(chunks) : undefined;
  if (body) JSON.parse(body.toString("utf8"));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && !DROP_IN.has(k)) headers[k] = v;
  const answer = await pool.request({ path: upstream.pathname, method: req.method as "POST", headers, body });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(answer.headers)) if (typeof v === "string" && !DROP_OUT.has(k)) out[k] = v;
  res.writeHead(answer.statusCode, out);
  res.flushHeaders(); // a GET stream's headers go out before its first event
  res.on("close", () => answer.body.destroy());
  for await (const chunk of answer.body) res.write(chunk);
  res.end();
}

const server = createServer((req, res) => {
  relay(req, res).catch(() => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
});
server.listen(port, "127.0.0.1", () => process.stdout.write("READY\n"));
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
