// Runs the HTTP fuzzer: a real sidecar (in this process, for speed) in front of the spy upstream, and
// fast-check generating requests. Each fast-check run is a group of requests sent at once over
// keep-alive connections (a group is one property case, so a failure shrinks to the requests that
// matter). Every answer is checked as it comes: never a 5xx (the spy never fails, so any 5xx is the
// sidecar's), a parseable JSON-RPC body on every POST answer, no hidden tool in any tools/list answer,
// no hang; and after every group the spy must have seen nothing the policy forbids. At the end the
// sidecar must still serve a plain call and have logged no internal error.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import fc from "fast-check";
import { pino } from "pino";
import { Readable } from "node:stream";
import { Pool } from "undici";
import { sidecarConfig } from "../../../sidecar/config.ts";
import { grantLine } from "../../../sidecar/identity/api-keys.ts";
import { startSidecar, type RunningSidecar } from "../../../sidecar/sidecar.ts";
import { ACCEPT_BOTH, messagesOf } from "../raw-mcp.ts";
import { KEYS } from "../sidecar-harness.ts";
import { ALLOWED_ORIGIN, fuzzRequest, OWN_SESSION, type FuzzRequest } from "./arbitraries.ts";
import { FUZZ_POLICY_TEXT, HIDDEN_TOOL } from "./policy.ts";
import { startSpyUpstream, type SpyUpstream } from "./spy-upstream.ts";

export interface FuzzOptions {
  /** HTTP requests to send in all (rounded up to whole groups). */
  cases: number;
  /** Requests per fast-check case, sent at once. */
  groupSize?: number;
  seed?: number;
  /** Called every `progressEvery` requests. */
  onProgress?: (report: FuzzReport) => void;
  progressEvery?: number;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  /** JSON-RPC messages the request bodies were built from. */
  messages: number;
  byStatus: Record<string, number>;
  /** What reached the upstream. */
  forwarded: SpyUpstream["stats"];
  /** Tool-call decisions the sidecar counted, by decision. */
  decisions: Record<string, number>;
  auditLines: number;
  longestAuditLine: number;
  seconds: number;
}

const BAD_ANSWER_MS = 15_000;

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const groupSize = options.groupSize ?? 25;
  const seed = options.seed ?? Date.now() % 2 ** 31;
  const spy = await startSpyUpstream();
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-fuzz-"));
  writeFileSync(join(dir, "policy.yaml"), FUZZ_POLICY_TEXT);
  writeFileSync(join(dir, "api-keys"), `${grantLine("alice", KEYS.alice)}\n`);
  const internalErrors: string[] = [];
  let auditLines = 0;
  let longestAuditLine = 0;
  const loggers = {
    log: pino(
      { level: "warn" },
      {
        write: (s: string) =>
          void (/"level":50|"level":60/.test(s) && internalErrors.length < 20 && internalErrors.push(s)),
      },
    ),
    audit: pino(
      { level: "info" },
      {
        write: (s: string) => {
          auditLines++;
          longestAuditLine = Math.max(longestAuditLine, s.length);
        },
      },
    ),
    flush() {},
  };
  const sidecar: RunningSidecar = await startSidecar({
    config: sidecarConfig({
      policy: join(dir, "policy.yaml"),
      upstream: new URL(spy.url),
      listen: { host: "127.0.0.1", port: 0 },
      adminListen: { host: "127.0.0.1", port: 0 },
      apiKeysFile: join(dir, "api-keys"),
      allowedOrigins: [ALLOWED_ORIGIN],
      maxBodyBytes: 64 * 1024,
      maxSessions: 2_000_000,
      maxSessionsPerGrant: 2_000_000,
    }),
    loggers,
    processMetrics: false,
  });
  const origin = new URL(sidecar.url).origin;
  const pool = new Pool(origin, {
    connections: groupSize,
    pipelining: 1,
    headersTimeout: BAD_ANSWER_MS,
    bodyTimeout: BAD_ANSWER_MS,
  });
  const report: FuzzReport = {
    seed,
    requests: 0,
    messages: 0,
    byStatus: {},
    forwarded: spy.stats,
    decisions: {},
    auditLines: 0,
    longestAuditLine: 0,
    seconds: 0,
  };
  const started = performance.now();
  try {
    let own = await openSession(pool, sidecar.url);
    const send = async (r: FuzzRequest) => {
      const answer = await sendOne(pool, r, own);
      // A DELETE in the session the runner keeps ended it: keep one open.
      if (r.method === "DELETE" && r.headers["mcp-session-id"] === OWN_SESSION && answer.status < 300)
        own = await openSession(pool, sidecar.url);
      return answer;
    };
    let nextProgress = options.progressEvery ?? Infinity;
    const details = await fc.check(
      fc.asyncProperty(fc.array(fuzzRequest, { minLength: groupSize, maxLength: groupSize }), async (group) => {
        const answers = await Promise.all(group.map(send));
        for (const [i, answer] of answers.entries()) {
          const request = group[i] as FuzzRequest;
          report.requests++;
          report.messages += request.messages;
          report.byStatus[answer.status] = (report.byStatus[answer.status] ?? 0) + 1;
          const problem = judge(request, answer);
          if (problem)
            throw new Error(
              `${problem}\nrequest: ${describe(request)}\nanswer: ${answer.status} ${answer.text.slice(0, 500)}`,
            );
        }
        if (spy.violations.length > 0)
          throw new Error(
            `the upstream received what the policy forbids:\n${spy.violations.join("\n")}\ngroup:\n${group.map(describe).join("\n")}`,
          );
        if (internalErrors.length > 0)
          throw new Error(
            `the sidecar logged an internal error:\n${internalErrors.join("\n")}\ngroup:\n${group.map(describe).join("\n")}`,
          );
        if (report.requests >= nextProgress) {
          nextProgress += options.progressEvery ?? Infinity;
          options.onProgress?.({ ...report, seconds: (performance.now() - started) / 1000 });
        }
      }),
      // No shrinking: the sidecar keeps state (sessions, budgets), so a smaller group need not fail alike.
      { numRuns: Math.ceil(options.cases / groupSize), seed, endOnFailure: true },
    );
    if (details.failed) {
      const cause =
        details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(
        `fuzzing failed after ${report.requests} requests (seed ${seed}, path "${details.counterexamplePath ?? ""}"):\n${cause}`,
      );
    }
    // Still serving, and healthy.
    const after = await post(
      pool,
      sidecar.url,
      { authorization: `Bearer ${KEYS.alice}`, "mcp-session-id": await openSession(pool, sidecar.url) },
      JSON.stringify({
        jsonrpc: "2.0",
        id: "final",
        method: "tools/call",
        params: { name: "list_namespaces", arguments: {} },
      }),
    );
    if (after.status !== 200 || !after.text.includes("ran list_namespaces"))
      throw new Error(`the sidecar no longer serves a plain call: ${after.status} ${after.text.slice(0, 300)}`);
    const health = await fetch(`${sidecar.adminUrl}/healthz`);
    if (health.status !== 200) throw new Error(`healthz answered ${health.status}`);
    const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
    for (const decision of ["allowed", "denied", "rate_limited", "approval_required"])
      report.decisions[decision] = sumOf(metrics, decision);
  } finally {
    report.seconds = (performance.now() - started) / 1000;
    report.auditLines = auditLines;
    report.longestAuditLine = longestAuditLine;
    await pool.close();
    await sidecar.shutdown(2_000);
    await spy.close();
  }
  return report;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  error?: Error;
}

async function post(pool: Pool, url: string, headers: Record<string, string>, body: string): Promise<Answer> {
  const res = await pool.request({
    path: new URL(url).pathname,
    method: "POST",
    headers: { "content-type": "application/json", accept: ACCEPT_BOTH, ...headers },
    body,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function openSession(pool: Pool, url: string): Promise<string> {
  const init = await post(
    pool,
    url,
    { authorization: `Bearer ${KEYS.alice}` },
    JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fuzz", version: "1" } },
    }),
  );
  const session = init.headers["mcp-session-id"];
  if (init.status !== 200 || typeof session !== "string")
    throw new Error(`initialize through the sidecar: ${init.status} ${init.text}`);
  return session;
}

async function sendOne(pool: Pool, r: FuzzRequest, own: string): Promise<Answer> {
  const headers = { ...r.headers };
  if (headers["mcp-session-id"] === OWN_SESSION) headers["mcp-session-id"] = own;
  if (headers.authorization !== undefined)
    headers.authorization =
      headers.authorization === "valid" ? `Bearer ${KEYS.alice}` : headers.authorization.replace("valid", KEYS.alice);
  // A stream has no length known up front: undici sends it chunked.
  const body = r.body === undefined ? undefined : r.chunked ? Readable.from(chunks(r.body)) : r.body;
  try {
    const res = await pool.request({ path: r.path, method: r.method, headers, body });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  } catch (err) {
    return { status: 0, headers: {}, text: (err as Error).message, error: err as Error };
  }
}

function* chunks(body: Buffer): Generator<Buffer> {
  for (let i = 0; i < body.length; i += 4096) yield body.subarray(i, i + 4096);
}

/** What is wrong with an answer, if anything. */
function judge(request: FuzzRequest, answer: Answer): string | undefined {
  if (answer.status === 0) return `no answer: ${answer.error?.message ?? "?"}`;
  if (answer.status >= 500) return `the sidecar answered ${answer.status} to a client's request`;
  const type = String(answer.headers["content-type"] ?? "");
  if (
    request.method === "POST" &&
    request.path === "/mcp" &&
    answer.status >= 400 &&
    !/"error":\{"code":-?\d+/.test(answer.text)
  )
    return "a refused POST without a JSON-RPC error";
  if (answer.status === 200 && (type.startsWith("application/json") || type.startsWith("text/event-stream"))) {
    let messages: Record<string, unknown>[];
    try {
      messages = messagesOf({ status: answer.status, headers: answer.headers, text: answer.text });
    } catch {
      return "an answer that is not JSON";
    }
    for (const m of messages) {
      const tools = (m.result as { tools?: { name?: unknown }[] } | undefined)?.tools;
      if (Array.isArray(tools) && tools.some((t) => t.name === HIDDEN_TOOL))
        return "a tools/list answer with the hidden tool in it";
    }
  }
  return undefined;
}

function describe(r: FuzzRequest): string {
  const body =
    r.body === undefined
      ? ""
      : r.body.length > 300
        ? `${r.body.subarray(0, 300).toString("latin1")}…(${r.body.length} bytes)`
        : r.body.toString("latin1");
  return `${r.method} ${r.path} ${JSON.stringify(r.headers)}${r.chunked ? " chunked" : ""} ${JSON.stringify(body)}`;
}

function sumOf(metrics: string, decision: string): number {
  let sum = 0;
  for (const line of metrics.split("\n"))
    if (line.startsWith("mcp_warden_tool_calls_total{") && line.includes(`decision="${decision}"`))
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  return sum;
}
