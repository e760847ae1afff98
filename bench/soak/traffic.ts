// The soak's traffic: agents (API keys) with MCP sessions that each hold their standalone GET stream,
// calling at a steady rate whatever the answers' latency (open loop), with a mix of calls the policy
// allows, denies, rate-limits and filters; sessions end (DELETE) and new ones start throughout. Every
// answer is checked against what the policy says it must be; anything else is an error.
import { performance } from "node:perf_hooks";
import { Agent, type Dispatcher } from "undici";
import { ACCEPT_BOTH, messagesOf } from "../../test/support/raw-mcp.ts";
import { mcpPolicy } from "../../test/support/policy-yaml.ts";

export const AGENTS = Array.from({ length: 10 }, (_, i) => ({ grant: `agent-${i}`, key: `soak-agent-key-${i}` }));
export const RESUME_PER_MINUTE = 30;

export const SOAK_POLICY = mcpPolicy(
  `default: deny
hide: [force_run_execution]
tools:
  - name: list_namespaces
  - name: list_flows
  - name: resume_execution
    limits: [{counter: resume, window: minute, max: ${RESUME_PER_MINUTE}, scope: grant}]
  - name: delete_flow
    action: deny
    reason: "Agents do not delete flows."`,
  "soak",
  { namespace: "bench" },
);

type Kind = "allowed" | "denied" | "rate_limited" | "listed";
interface CallKind {
  weight: number;
  body: (id: number) => unknown;
  /** The outcome seen in the answer, or an error description. */
  judge(message: Record<string, unknown>): string;
}

const toolResult = (m: Record<string, unknown>) =>
  m.result as { isError?: boolean; content?: { text?: string }[] } | undefined;
const CALLS: CallKind[] = [
  {
    weight: 55,
    body: (id) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "list_namespaces", arguments: {} } }),
    judge: (m) =>
      toolResult(m) && toolResult(m)?.isError !== true
        ? "allowed"
        : `list_namespaces: ${JSON.stringify(m).slice(0, 200)}`,
  },
  {
    weight: 15,
    body: (id) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "delete_flow", arguments: { namespace: "n", flow_id: "f" } },
    }),
    judge: (m) =>
      toolResult(m)?.content?.[0]?.text === "[POLICY DENIED] Agents do not delete flows."
        ? "denied"
        : `delete_flow: ${JSON.stringify(m).slice(0, 200)}`,
  },
  {
    weight: 25,
    body: (id) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "resume_execution", arguments: {} } }),
    judge: (m) => {
      const r = toolResult(m);
      if (r && r.isError !== true) return "allowed";
      return r?.content?.[0]?.text?.startsWith("[RATE LIMITED]")
        ? "rate_limited"
        : `resume_execution: ${JSON.stringify(m).slice(0, 200)}`;
    },
  },
  {
    weight: 5,
    body: (id) => ({ jsonrpc: "2.0", id, method: "tools/list" }),
    judge: (m) => {
      const tools = (m.result as { tools?: { name: string }[] } | undefined)?.tools;
      return tools?.length === 38 && !tools.some((t) => t.name === "force_run_execution")
        ? "listed"
        : `tools/list: ${JSON.stringify(m).slice(0, 200)}`;
    },
  },
];
const TOTAL_WEIGHT = CALLS.reduce((n, c) => n + c.weight, 0);

interface Session {
  headers: Record<string, string>;
  stream: Dispatcher.ResponseData;
}

export interface TrafficStats {
  sent: number;
  outcomes: Record<Kind, number>;
  errors: number;
  errorSamples: string[];
  sessionsOpened: number;
  sessionsEnded: number;
  inFlight: number;
  /** Latencies (ms) of the calls answered since the last `takeLatencies()`. */
  latencies: number[];
}

export class Traffic {
  readonly stats: TrafficStats = {
    sent: 0,
    outcomes: { allowed: 0, denied: 0, rate_limited: 0, listed: 0 },
    errors: 0,
    errorSamples: [],
    sessionsOpened: 0,
    sessionsEnded: 0,
    inFlight: 0,
    latencies: [],
  };
  private readonly url: URL;
  private readonly agent = new Agent({ connections: 256, pipelining: 1, bodyTimeout: 0, headersTimeout: 30_000 });
  private readonly sessions: Session[] = [];
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private churn: NodeJS.Timeout | undefined;
  /** Session replacements under way (each waits 2 s before ending the old session). */
  private readonly replacing = new Set<Promise<void>>();

  constructor(url: string) {
    this.url = new URL(url);
  }

  /** Opens `sessions` sessions, then sends `rate` calls per second and replaces a session every `churnMs`. */
  async start(sessions: number, rate: number, churnMs: number): Promise<void> {
    for (let i = 0; i < sessions; i++) this.sessions.push(await this.openSession(i));
    const started = performance.now();
    let due = 0;
    this.timer = setInterval(() => {
      const target = Math.floor(((performance.now() - started) / 1000) * rate);
      for (; due < target; due++) void this.call();
    }, 10);
    let turn = 0;
    this.churn = setInterval(() => {
      const replaced = this.replaceSession(turn++ % this.sessions.length).finally(() =>
        this.replacing.delete(replaced),
      );
      this.replacing.add(replaced);
    }, churnMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.churn);
    while (this.stats.inFlight > 0) await new Promise((r) => setTimeout(r, 20));
    // A replacement under way still ends its old session: closing the client under it is no sidecar error.
    await Promise.all(this.replacing);
    for (const s of this.sessions) s.stream.body.destroy();
    await this.agent.close();
  }

  takeLatencies(): number[] {
    const taken = this.stats.latencies;
    this.stats.latencies = [];
    return taken;
  }

  private error(text: string): void {
    this.stats.errors++;
    if (this.stats.errorSamples.length < 10) this.stats.errorSamples.push(text.slice(0, 300));
  }

  private async post(
    headers: Record<string, string>,
    body: unknown,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    const res = await this.agent.request({
      origin: this.url.origin,
      path: this.url.pathname,
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT_BOTH, ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  private async openSession(i: number): Promise<Session> {
    const agent = AGENTS[i % AGENTS.length] as (typeof AGENTS)[number];
    const auth = { authorization: `Bearer ${agent.key}` };
    const init = await this.post(auth, {
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "soak", version: "1" } },
    });
    const id = init.headers["mcp-session-id"];
    if (init.status !== 200 || typeof id !== "string")
      throw new Error(`initialize: ${init.status} ${init.text.slice(0, 200)}`);
    const headers = { ...auth, "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" };
    await this.post(headers, { jsonrpc: "2.0", method: "notifications/initialized" });
    const stream = await this.agent.request({
      origin: this.url.origin,
      path: this.url.pathname,
      method: "GET",
      headers: { ...headers, accept: "text/event-stream" },
    });
    if (stream.statusCode !== 200) throw new Error(`GET stream: ${stream.statusCode}`);
    stream.body.on("error", () => undefined);
    this.stats.sessionsOpened++;
    return { headers, stream };
  }

  private async replaceSession(slot: number): Promise<void> {
    const old = this.sessions[slot] as Session;
    try {
      this.sessions[slot] = await this.openSession(slot);
      // Calls already sent in the old session finish first (they take milliseconds).
      await new Promise((r) => setTimeout(r, 2_000));
      old.stream.body.destroy();
      const res = await this.agent.request({
        origin: this.url.origin,
        path: this.url.pathname,
        method: "DELETE",
        headers: old.headers,
      });
      await res.body.dump();
      if (res.statusCode !== 200) this.error(`DELETE: ${res.statusCode}`);
      this.stats.sessionsEnded++;
    } catch (err) {
      this.error(`session churn: ${(err as Error).message}`);
    }
  }

  private async call(): Promise<void> {
    let pick = Math.random() * TOTAL_WEIGHT;
    const kind = CALLS.find((c) => (pick -= c.weight) < 0) as CallKind;
    const session = this.sessions[Math.floor(Math.random() * this.sessions.length)] as Session;
    const id = this.nextId++;
    this.stats.sent++;
    this.stats.inFlight++;
    const t0 = performance.now();
    try {
      const answer = await this.post(session.headers, kind.body(id));
      if (answer.status !== 200) return this.error(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
      const message = messagesOf(answer).find((m) => m.id === id);
      if (!message) return this.error(`no answer with id ${id}: ${answer.text.slice(0, 200)}`);
      const outcome = kind.judge(message);
      if (outcome in this.stats.outcomes) this.stats.outcomes[outcome as Kind]++;
      else this.error(outcome);
      this.stats.latencies.push(performance.now() - t0);
    } catch (err) {
      this.error(`${(err as Error).message}`);
    } finally {
      this.stats.inFlight--;
    }
  }
}
