// The benchmark's load generator, a process of its own: N MCP sessions (initialize, then one
// connection each), each calling the same request back to back for a while; per-call latency is
// measured from sending the request to the end of the answer. Prints one JSON line of results.
//
//   node load.ts '{"url":…,"sessions":16,"durationMs":4000,"warmupMs":500,"request":{…},"token":…}'
//   node load.ts '{"url":…,"sessions":1000,"hold":true,"token":…}'   # open sessions + GET streams, wait for SIGTERM
import { performance } from "node:perf_hooks";
import { Pool } from "undici";

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

const config = JSON.parse(process.argv[2] as string) as LoadConfig;
const target = new URL(config.url);
const pool = new Pool(target.origin, { connections: config.sessions * (config.hold ? 2 : 1), pipelining: 1, bodyTimeout: 0, headersTimeout: 60_000 });
const base = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  ...(config.token ? { authorization: `Bearer ${config.token}` } : {}),
};

async function post(headers: Record<string, string>, body: string): Promise<{ status: number; session?: string; text: string }> {
  const res = await pool.request({ path: target.pathname, method: "POST", headers, body });
  const text = await res.body.text();
  const session = res.headers["mcp-session-id"];
  return { status: res.statusCode, session: typeof session === "string" ? session : undefined, text };
}

async function openSession(): Promise<Record<string, string>> {
  const init = await post(base, JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } } }));
  if (init.status !== 200 || !init.session) throw new Error(`initialize failed: ${init.status} ${init.text.slice(0, 200)}`);
  const headers = { ...base, "mcp-session-id": init.session, "mcp-protocol-version": "2025-11-25" };
  await post(headers, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  return headers;
}

async function openSessions(n: number): Promise<Record<string, string>[]> {
  const sessions: Record<string, string>[] = [];
  for (let i = 0; i < n; i += 50) sessions.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, openSession))));
  return sessions;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function hold(): Promise<void> {
  const sessions = await openSessions(config.sessions);
  const streams = await Promise.all(
    sessions.map(async (headers) => {
      const res = await pool.request({ path: target.pathname, method: "GET", headers: { ...headers, accept: "text/event-stream" } });
      if (res.statusCode !== 200) throw new Error(`GET stream: ${res.statusCode}`);
      return res;
    }),
  );
  process.stdout.write(`HOLDING ${streams.length}\n`);
  await new Promise<void>((resolve) => process.once("SIGTERM", resolve));
  for (const s of streams) s.body.destroy();
}

async function run(): Promise<void> {
  const sessions = await openSessions(config.sessions);
  const latencies: number[] = [];
  let total = 0;
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + (config.warmupMs ?? 500);
  const end = measureFrom + (config.durationMs ?? 4000);
  let id = 1;
  await Promise.all(
    sessions.map(async (headers) => {
      while (performance.now() < end) {
        const body = JSON.stringify({ jsonrpc: "2.0", id: id++, ...config.request });
        const t0 = performance.now();
        const answer = await post(headers, body);
        const t1 = performance.now();
        total++;
        if (answer.status !== 200 || !answer.text.includes('"result"')) errors++;
        if (t0 >= measureFrom) latencies.push(t1 - t0);
      }
    }),
  );
  const seconds = (end - measureFrom) / 1000;
  latencies.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ calls: latencies.length, total, errors, throughput: latencies.length / seconds, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99) })}\n`);
}

try {
  if (config.hold) await hold();
  else await run();
} finally {
  await pool.destroy();
}
