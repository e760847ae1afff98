// A baseline for the benchmark: the least a Node reverse proxy does (fastify in, undici out, the body
// parsed once, hop-by-hop headers dropped), with no policy, identity, metrics or logs. The distance
// between it and the sidecar is what enforcement costs; its distance to nginx is what Node costs.
import { fastify } from "fastify";
import { Pool } from "undici";

const upstream = new URL(process.argv[2] as string);
const port = Number(process.argv[3]);
const pool = new Pool(upstream.origin, { bodyTimeout: 0 });
const DROP_IN = new Set(["host", "connection", "content-length", "authorization", "keep-alive", "transfer-encoding"]);
const DROP_OUT = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);

const app = fastify();
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
app.route({
  method: ["POST", "GET", "DELETE"],
  url: upstream.pathname,
  handler: async (request, reply) => {
    reply.hijack();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers)) if (typeof v === "string" && !DROP_IN.has(k)) headers[k] = v;
    const body = request.body as Buffer | undefined;
    if (body) JSON.parse(body.toString("utf8"));
    const answer = await pool.request({ path: upstream.pathname, method: request.method, headers, body });
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(answer.headers)) if (typeof v === "string" && !DROP_OUT.has(k)) out[k] = v;
    reply.raw.writeHead(answer.statusCode, out);
    for await (const chunk of answer.body) reply.raw.write(chunk);
    reply.raw.end();
  },
});
await app.listen({ port, host: "127.0.0.1" });
process.stdout.write("READY\n");
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
