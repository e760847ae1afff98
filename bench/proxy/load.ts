// The benchmark's load generator, a process of its own: N MCP sessions (initialize, then one
// keep-alive connection each), each calling the same request back to back for a while; per-call
// latency is measured from sending the request to the end of the answer. Prints one JSON line of
// results, with the generator's own CPU time per 1,000 calls so its share of the machine is known.
//
// Lean on purpose: raw node:http with one keep-alive socket per session, the request bytes built
// once (only the id changes), the answer's bytes counted and never decoded or parsed whole; a call is
// good when the status is 200 and the answer's first bytes carry a JSON-RPC `result`.
//
//   node load.ts '{"url":…,"sessions":16,"durationMs":4000,"warmupMs":500,"request":{…},"token":…}'
//   node load.ts '{"url":…,"sessions":1000,"hold":true,"token":…}'   # open sessions + GET streams, wait for SIGTERM
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { performance } from "node:perf_hooks";

interface LoadConfig {
  url: string;
  sessions: number;
  durationMs?: number;
  warmupMs?: number;
  /** The JSON-RPC request to repeat (its id is replaced). */
  request?: { method: string; params?: unknown };
  token?: string;
  /** Open the sessions (each with its GET stream) and hold them until SIGTERM. */
  hold?: boolean;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body's first 256 bytes (enough to tell a result from an error). */
  head: string;
  bytes: number;
}

const config = JSON.parse(process.argv[2] as string) as LoadConfig;
const target = new URL(config.url);
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity, scheduling: "lifo" });
const base: OutgoingHttpHeaders = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  ...(config.token ? { authorization: `Bearer ${config.token}` } : {}),
};

function send(method: string, headers: OutgoingHttpHeaders, body?: Buffer): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method,
        agent,
        headers: body ? { ...headers, "content-length": body.length } : headers,
      },
      resolve,
    );
    req.on("error", reject);
    req.end(body);
  });
}

function drain(res: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let head = "";
    let bytes = 0;
    res.on("data", (chunk: Buffer) => {
      if (head.length < 256) head += chunk.toString("latin1", 0, Math.min(chunk.length, 256 - head.length));
      bytes += chunk.length;
    });
    res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, head, bytes }));
    res.on("error", reject);
  });
}

const post = async (headers: OutgoingHttpHeaders, body: string) =>
  drain(await send("POST", headers, Buffer.from(body)));

async function openSession(): Promise<OutgoingHttpHeaders> {
  const init = await post(
    base,
    JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
    }),
  );
  const session = init.headers["mcp-session-id"];
  if (init.status !== 200 || typeof session !== "string")
    throw new Error(`initialize failed: ${init.status} ${init.head.slice(0, 200)}`);
  const headers = { ...base, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
  await post(headers, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  return headers;
}

async function openSessions(n: number): Promise<OutgoingHttpHeaders[]> {
  const sessions: OutgoingHttpHeaders[] = [];
  for (let i = 0; i < n; i += 50)
    sessions.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, openSession))));
  return sessions;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function hold(): Promise<void> {
  const sessions = await openSessions(config.sessions);
  const streams = await Promise.all(
    sessions.map(async (headers) => {
      const res = await send("GET", { ...headers, accept: "text/event-stream" });
      if (res.statusCode !== 200) throw new Error(`GET stream: ${res.statusCode}`);
      res.resume();
      return res;
    }),
  );
  process.stdout.write(`HOLDING ${streams.length}\n`);
  await new Promise<void>((resolve) => process.once("SIGTERM", resolve));
  for (const s of streams) s.destroy();
}

/** The request's bytes around its id, so each call only writes a number between two fixed parts. */
function requestParts(): [string, string] {
  const marker = "__ID__";
  const text = JSON.stringify({ jsonrpc: "2.0", id: marker, ...config.request });
  const at = text.indexOf(`"${marker}"`);
  return [text.slice(0, at), text.slice(at + marker.length + 2)];
}

async function run(): Promise<void> {
  const sessions = await openSessions(config.sessions);
  const [before, after] = requestParts();
  // Latencies of the measured window; sized for the worst case of a fast target, grown if needed.
  let latencies = new Float64Array(1 << 16);
  let measured = 0;
  let total = 0;
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + (config.warmupMs ?? 500);
  const end = measureFrom + (config.durationMs ?? 4000);
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const warmup = setTimeout(() => (cpuAtStart = process.cpuUsage()), config.warmupMs ?? 500);
  let id = 1;
  await Promise.all(
    sessions.map(async (headers) => {
      while (performance.now() < end) {
        const body = Buffer.from(before + String(id++) + after);
        const t0 = performance.now();
        const { status, head } = await drain(await send("POST", headers, body));
        const t1 = performance.now();
        total++;
        if (status !== 200 || !head.includes('"result"')) errors++;
        if (t0 >= measureFrom) {
          if (measured === latencies.length) {
            const grown = new Float64Array(latencies.length * 2);
            grown.set(latencies);
            latencies = grown;
          }
          latencies[measured++] = t1 - t0;
        }
      }
    }),
  );
  clearTimeout(warmup);
  const cpu = process.cpuUsage(cpuAtStart);
  const seconds = (end - measureFrom) / 1000;
  const sorted = latencies.subarray(0, measured).sort();
  process.stdout.write(
    `${JSON.stringify({
      calls: measured,
      total,
      errors,
      throughput: measured / seconds,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      clientCpuPer1000: ((cpu.user + cpu.system) / 1e6 / Math.max(1, measured)) * 1000,
    })}\n`,
  );
}

try {
  if (config.hold) await hold();
  else await run();
} finally {
  agent.destroy();
}
