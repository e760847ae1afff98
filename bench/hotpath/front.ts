// The HTTP front alone, fastify against node:http, in one process and one run: both serve one POST
// route the way the MCP port does (a request hook, a route hook, the body read raw and bounded, the
// answer written to the raw response), in front of nothing; an undici client in the same process
// sends the same calls to each, in interleaved blocks. The client's CPU is the same for both, so
// the difference of the CPU time per call is the front's. Prints medians side by side.
//
//   node bench/hotpath/front.ts     BENCH_REPS (default 7), BENCH_CALLS per block (default 4000), BENCH_CONCURRENCY (default 16)
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fastify } from "fastify";
import { Pool } from "undici";
import { readRawBody } from "../../sidecar/proxy/raw-body.ts";

const REPS = Number(process.env.BENCH_REPS ?? 7);
const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const BODY = JSON.stringify({
  jsonrpc: "2.0",
  id: 7,
  method: "tools/call",
  params: { name: "resume_execution", arguments: { namespace: "company.team", flow_id: "nightly-etl" } },
});
const ANSWER = JSON.stringify({ jsonrpc: "2.0", id: 7, result: { content: [{ type: "text", text: "resumed" }] } });
const LIMIT = 1 << 20;

function answer(res: ServerResponse, body: Buffer | undefined): void {
  if (!body || body.length === 0) throw new Error("no body");
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(ANSWER) });
  res.end(ANSWER);
}

async function fastifyFront(): Promise<string> {
  const app = fastify({
    logger: false,
    bodyLimit: LIMIT,
    return503OnClosing: true,
    exposeHeadRoutes: false,
    http: { connectionsCheckingInterval: 1000 },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  // Callback hooks, no promise per hook: fastify "with hooks trimmed".
  app.addHook("onRequest", (request, _reply, done) => {
    request.raw.socket.setTimeout(0);
    done();
  });
  app.route({
    method: ["POST"],
    url: "/mcp",
    onRequest: (request, _reply, done) => {
      done(request.raw.url === "/mcp" ? undefined : new Error("not the path"));
    },
    handler: async (request, reply) => {
      reply.hijack();
      answer(reply.raw, request.body as Buffer);
    },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function nodeFront(): Promise<string> {
  const route = async (req: IncomingMessage, res: ServerResponse) => {
    req.socket.setTimeout(0);
    if (req.url !== "/mcp" || req.method !== "POST") throw new Error("not the path");
    const read = await readRawBody(req, LIMIT);
    answer(res, read.ok ? read.body : undefined);
  };
  const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => void route(req, res));
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** CPU microseconds of this process per call, for CALLS calls on CONCURRENCY connections. */
async function block(pool: Pool): Promise<number> {
  let left = CALLS;
  const start = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) {
        const res = await pool.request({
          path: "/mcp",
          method: "POST",
          headers: { "content-type": "application/json" },
          body: BODY,
        });
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
        await res.body.text();
      }
    }),
  );
  const used = process.cpuUsage(start);
  return (used.user + used.system) / CALLS;
}

const fronts = {
  fastify: new Pool(await fastifyFront(), { connections: CONCURRENCY }),
  "node:http": new Pool(await nodeFront(), { connections: CONCURRENCY }),
};
const samples: Record<string, number[]> = { fastify: [], "node:http": [] };
for (let rep = 0; rep <= REPS; rep++) {
  const order = rep % 2 === 0 ? (["fastify", "node:http"] as const) : (["node:http", "fastify"] as const);
  for (const name of order) {
    const us = await block(fronts[name]);
    if (rep > 0) samples[name]?.push(us); // the first round warms up
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const [f, n] = [median(samples.fastify ?? []), median(samples["node:http"] ?? [])];
console.log(
  `HTTP front, ${CALLS} POST calls per block on ${CONCURRENCY} connections, ${REPS} interleaved blocks, median CPU µs per call (server and client in one process)`,
);
console.log(`  fastify     ${f.toFixed(1)} µs`);
console.log(
  `  node:http   ${n.toFixed(1)} µs   ${(n / f).toFixed(2)}× of fastify, ${(f - n).toFixed(1)} µs less per call`,
);
process.exit(0);
