// Closed-loop tool-call load over raw HTTP (undici, keep-alive): `workers` callers per target, each
// with an MCP session of its own, send tools/call after tools/call until told to stop, and record
// what every call got (HTTP status, the decision the answer shows, timings). Every call is raced
// against a hang detector, so a call that never settles fails the load instead of stalling it.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { ACCEPT_BOTH, messagesOf, type RawAnswer } from "./raw-mcp.ts";

export interface LoadTarget {
  /** The sidecar's MCP endpoint. */
  url: string;
  /** API key of the caller. */
  key: string;
}

export interface CallRecord {
  target: number;
  worker: number;
  tool: string;
  /** performance.now() when the call was issued, and when its answer was complete. */
  started: number;
  settled: number;
  /** performance.now() when its bytes were written to a connection; undefined if they never were. */
  sent?: number;
  status: number;
  /** allowed (an upstream result), a sidecar decision, "error" (a JSON-RPC error), or "failed" (no HTTP answer). */
  outcome: "allowed" | "denied" | "rate_limited" | "approval_required" | "tool_error" | "error" | "failed";
  /** `_meta["mcpwarden.io/decision"].reason` of a sidecar decision. */
  reason?: string;
  /** The client error's code when there was no HTTP answer (ECONNREFUSED, UND_ERR_SOCKET, …). */
  code?: string;
  /** The answer's Connection header. */
  connection?: string;
  text: string;
}

export interface LoadOptions {
  targets: readonly LoadTarget[];
  workers: number;
  /** The tool (and arguments) of the n-th call of a worker. */
  call(n: number, worker: number): { name: string; arguments: Record<string, unknown> };
  /** A call still unsettled after this long fails the load as a hang (default 10 s). */
  hangMs?: number;
}

export interface RunningLoad {
  readonly records: CallRecord[];
  /** Stops sending and resolves once every call in flight has settled (idempotent). */
  stop(): Promise<CallRecord[]>;
  /** Resolves when at least `n` calls have settled. */
  settled(n: number): Promise<void>;
}

export async function startCallLoad(options: LoadOptions): Promise<RunningLoad> {
  const records: CallRecord[] = [];
  const hangMs = options.hangMs ?? 10_000;
  const pools = options.targets.map(
    (t) => new Pool(new URL(t.url).origin, { connections: options.workers, pipelining: 1 }),
  );
  const post = async (target: number, headers: Record<string, string>, body: string): Promise<RawAnswer> => {
    const res = await (pools[target] as Pool).request({
      path: new URL((options.targets[target] as LoadTarget).url).pathname,
      method: "POST",
      headers,
      body,
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };
  const sessions = await Promise.all(
    options.targets.flatMap((t, target) =>
      Array.from({ length: options.workers }, async () => {
        const base = { "content-type": "application/json", accept: ACCEPT_BOTH, authorization: `Bearer ${t.key}` };
        const init = await post(
          target,
          base,
          JSON.stringify({
            jsonrpc: "2.0",
            id: 0,
            method: "initialize",
            params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "load", version: "1" } },
          }),
        );
        const session = init.headers["mcp-session-id"];
        if (init.status !== 200 || typeof session !== "string")
          throw new Error(`initialize through ${t.url}: ${init.status} ${init.text.slice(0, 200)}`);
        const headers = { ...base, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" };
        await post(target, headers, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
        return { target, headers };
      }),
    ),
  );

  // When each call's request was written to its connection (undici publishes that synchronously with
  // the write), told apart by a header of its own.
  const sentAt = new Map<string, number>();
  const onSend = (message: unknown) => {
    const match = /\r\nx-load-call: (\S+)\r\n/.exec((message as { headers: string }).headers);
    if (match) sentAt.set(match[1] as string, performance.now());
  };
  subscribe("undici:client:sendHeaders", onSend);
  let stopping = false;
  let failure: Error | undefined;
  const waiters = new Set<() => void>();
  const workers = sessions.map(async ({ target, headers }, worker) => {
    for (let n = 0; !stopping; n++) {
      const { name, arguments: args } = options.call(n, worker);
      const body = JSON.stringify({
        jsonrpc: "2.0",
        id: n + 1,
        method: "tools/call",
        params: { name, arguments: args },
      });
      const started = performance.now();
      const hang = sleep(hangMs, "hang" as const, { ref: false });
      const tag = `${worker}.${n}`;
      const answer = await Promise.race([
        post(target, { ...headers, "x-load-call": tag }, body).catch((err: unknown) => err as Error),
        hang,
      ]);
      if (answer === "hang") {
        failure = new Error(`a call to ${name} through target ${target} did not settle within ${hangMs} ms`);
        stopping = true;
        break;
      }
      const sent = sentAt.get(tag);
      sentAt.delete(tag);
      records.push({
        target,
        worker,
        tool: name,
        started,
        settled: performance.now(),
        ...(sent !== undefined ? { sent } : {}),
        ...classify(answer),
      });
      for (const w of waiters) w();
    }
  });
  const all = Promise.all(workers);
  let stopped: Promise<CallRecord[]> | undefined;
  return {
    records,
    stop() {
      stopping = true;
      stopped ??= all.then(async () => {
        unsubscribe("undici:client:sendHeaders", onSend);
        await Promise.all(pools.map((p) => p.close()));
        if (failure) throw failure;
        return records;
      });
      return stopped;
    },
    settled: (n) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (failure) reject(failure);
          else if (records.length >= n) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

function classify(
  answer: RawAnswer | Error,
): Pick<CallRecord, "status" | "outcome" | "reason" | "code" | "connection" | "text"> {
  if (answer instanceof Error)
    return {
      status: 0,
      outcome: "failed",
      code: String((answer as NodeJS.ErrnoException).code ?? answer.name),
      text: answer.message,
    };
  if (answer.status !== 200)
    return {
      status: answer.status,
      outcome: "failed",
      connection: String(answer.headers.connection ?? ""),
      text: answer.text.slice(0, 500),
    };
  let message: Record<string, unknown> | undefined;
  try {
    message = messagesOf(answer).find((m) => "result" in m || "error" in m);
  } catch {
    return { status: answer.status, outcome: "failed", text: answer.text.slice(0, 500) };
  }
  if (!message) return { status: answer.status, outcome: "failed", text: answer.text.slice(0, 500) };
  if ("error" in message) return { status: answer.status, outcome: "error", text: JSON.stringify(message.error) };
  const result = message.result as {
    isError?: boolean;
    content?: { text?: string }[];
    _meta?: Record<string, { decision?: string; reason?: string }>;
  };
  const text = result.content?.[0]?.text ?? "";
  const decision = result._meta?.["mcpwarden.io/decision"];
  if (decision?.decision)
    return {
      status: answer.status,
      outcome: decision.decision as CallRecord["outcome"],
      reason: decision.reason,
      text,
    };
  return {
    status: answer.status,
    outcome: result.isError === true ? "tool_error" : "allowed",
    text: text.slice(0, 200),
  };
}
