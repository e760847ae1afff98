// One stack under test: a real upstream process (recording every execution), the recording tap in
// front of it, and a real sidecar process in front of the tap with the differential policy. A case
// (`stack.begin()`) sends raw requests through the sidecar, keeps every answer, and is judged on what
// the upstream recorded, the sidecar audited and the client got while it ran.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPeer, venvPython, type Peer } from "../support/processes.ts";
import { startSidecarProcess, type SidecarProcess } from "../support/sidecar-process.ts";
import { findingsOf, parseRecordLine, type Execution, type Finding } from "./judge.ts";
import { API_KEYS_TEXT, CALLERS, policyText, type Caller } from "./policy.ts";
import { rawRequest, header, type HeaderList, type Json, type RawRequest, type RawResponse } from "./raw-http.ts";
import { ACTION_WAIT_MS } from "./stacks/catalogue.ts";
import { startTap, type Tap } from "./tap.ts";

export type StackName = "ts-express" | "python-sdk" | "fastmcp3";
export const STACKS: readonly StackName[] = (process.env.DIFFERENTIAL_STACKS?.split(",") as
  StackName[] | undefined) ?? ["ts-express", "python-sdk", "fastmcp3"];
export const PROTOCOL = "2025-03-26";

const TS_SERVER = new URL("./stacks/ts-express-server.ts", import.meta.url).pathname;
/** Upstream process groups still running; killed if the test process exits before its after-hooks. */
const liveUpstreams = new Set<number>();
process.once("exit", () => {
  for (const pid of liveUpstreams) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
});
const PY_SERVER = new URL("./stacks/python_server.py", import.meta.url).pathname;

export interface StackOptions {
  /** Extra sidecar flags, e.g. ["--max-sessions", "4"]. */
  sidecarArgs?: readonly string[];
  /** resume_execution's answer grows by this many characters (a tool whose output is large). */
  answerPadding?: number;
  /** The upstream answers POSTs with one JSON body when the answer is ready (no SSE stream). */
  jsonResponse?: boolean;
  /** How long resume_execution waits for the action it started (default catalogue.ts ACTION_WAIT_MS). */
  actionWaitMs?: number;
  /** An OpenID issuer whose tokens the sidecar also accepts (identity.jwt), beside the API keys. */
  jwt?: JwtIssuer;
}

export interface JwtIssuer {
  readonly issuer: string;
  /** A token for `sub`, with the suite's audience. */
  token(sub: string): Promise<string>;
}

/** An upstream the caller started (a test double), used instead of one of the three stacks. */
export interface GivenUpstream {
  readonly label: string;
  readonly url: string;
  stop(): Promise<void>;
}

export interface Stack {
  readonly name: string;
  readonly dir: string;
  readonly tap: Tap;
  readonly sidecar: SidecarProcess;
  readonly upstreamUrl: string;
  /** The next of the 64 callers; they come round again only after all 64 (long runs: over a minute later). */
  caller(): Caller;
  /** A caller authenticated by a JWT whose subject is `sub` (the stack must have been given an issuer). */
  jwtCaller(sub: string): Promise<Caller>;
  begin(): Case;
  executions(): Execution[];
  /** Keeps the stack's files (record, tap log, policy) after stop(), for a failure to be read. */
  keepFiles(): void;
  /** Stops everything; removes the stack's files unless a case failed or DIFFERENTIAL_KEEP is set. */
  stop(): Promise<void>;
}

export interface Case {
  readonly since: number;
  /** Sends raw bytes to the sidecar's MCP port and keeps the answer for the judge. */
  send(req: RawRequest): Promise<RawResponse>;
  /** POST of a JSON-RPC message (or raw body) with the caller's key and, when given, the session. */
  post(
    caller: Caller | null,
    session: string | undefined,
    body: Json | Json[] | string | Buffer,
    headers?: HeaderList,
    readMs?: number,
  ): Promise<RawResponse>;
  /** initialize + notifications/initialized; the session id. */
  initialize(caller: Caller): Promise<string>;
  /** Marks the number of callers whose limited-tool budgets this case drew on (default 1). */
  limitedCallers(n: number): void;
  /** Waits until the record and the audit log have been quiet for `settleMs` (default 300), then lists every violation of the invariant. */
  judge(settleMs?: number): Promise<string[]>;
  /** The same verdict, each violation with the execution or answer (indexes within this case) it concerns. */
  findings(settleMs?: number): Promise<Finding[]>;
  /** Executions recorded and answers kept since the case began. */
  progress(): { executions: number; answers: number };
}

export function mcpHeaders(caller: Caller | null, session?: string): [string, string][] {
  const headers: [string, string][] = [
    ["Content-Type", "application/json"],
    ["Accept", "application/json, text/event-stream"],
  ];
  if (caller) headers.push(["Authorization", `Bearer ${caller.key}`]);
  if (session) headers.push(["Mcp-Session-Id", session], ["Mcp-Protocol-Version", PROTOCOL]);
  return headers;
}

export function initializeMessage(id: number | string = 0): Json {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: "differential", version: "1" } },
  };
}

export function toolCall(id: number | string, name: string, args: Json): Json {
  return { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } };
}

async function startUpstream(
  name: StackName,
  record: string,
  options: StackOptions,
): Promise<{ peer: Peer; url: string }> {
  const padding = options.answerPadding ?? 0;
  const json = options.jsonResponse === true;
  const wait = options.actionWaitMs ?? ACTION_WAIT_MS;
  const env = { PYTHONDONTWRITEBYTECODE: "1", FASTMCP_CHECK_FOR_UPDATES: "off", FASTMCP_SHOW_SERVER_BANNER: "false" };
  const peer =
    name === "ts-express"
      ? startPeer(process.execPath, [TS_SERVER, record, String(padding), json ? "json" : "sse", String(wait)])
      : startPeer(
          venvPython(),
          [
            PY_SERVER,
            "--stack",
            name === "python-sdk" ? "mcp" : "fastmcp",
            "--record",
            record,
            "--answer-padding",
            String(padding),
            "--action-wait-ms",
            String(wait),
            ...(json ? ["--json-response"] : []),
          ],
          { env },
        );
  const pid = peer.child.pid;
  if (pid !== undefined) {
    liveUpstreams.add(pid);
    peer.child.once("exit", () => liveUpstreams.delete(pid));
  }
  const ready = await peer.waitFor(/READY (\S+)/, 60_000).catch(async (err: unknown) => {
    await peer.stop();
    throw err;
  });
  const said = ready[1] as string;
  return { peer, url: /^\d+$/.test(said) ? `http://127.0.0.1:${said}/mcp` : said };
}

export async function startStack(which: StackName | GivenUpstream, options: StackOptions = {}): Promise<Stack> {
  const name = typeof which === "string" ? which : which.label;
  const dir = mkdtempSync(join(tmpdir(), `mcp-warden-differential-${name}-`));
  const recordFile = join(dir, "record.jsonl");
  writeFileSync(recordFile, "");
  writeFileSync(join(dir, "policy.yaml"), policyText(options.jwt?.issuer));
  writeFileSync(join(dir, "api-keys"), API_KEYS_TEXT);
  const upstream =
    typeof which === "string"
      ? await startUpstream(which, recordFile, options)
      : { url: which.url, peer: { stop: () => which.stop() } };
  const tap = await startTap(upstream.url, join(dir, "tap.log"));
  const sidecar = await startSidecarProcess({
    policy: join(dir, "policy.yaml"),
    apiKeys: join(dir, "api-keys"),
    upstream: tap.url,
    args: options.sidecarArgs ?? [],
  }).catch(async (err: unknown) => {
    await tap.close();
    await upstream.peer.stop();
    throw err;
  });
  if (typeof which === "string") {
    // Before any case: the sidecar's own session has listed the tools and learnt how the server
    // answers a missing tool (hidden tools answer alike).
    await sidecar.waitForLog(
      (l) =>
        typeof l.msg === "string" &&
        (l.msg.startsWith("learnt how the upstream answers a missing tool") ||
          l.msg.startsWith("the upstream's answer for a missing tool is not imitated")),
      `${name}: the sidecar's own listing`,
      30_000,
    );
  }
  let nextCaller = 0;
  let keep = process.env.DIFFERENTIAL_KEEP !== undefined;
  const executions = (): Execution[] =>
    readFileSync(recordFile, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map(parseRecordLine);

  const stack: Stack = {
    name,
    dir,
    tap,
    sidecar,
    upstreamUrl: upstream.url,
    caller: () => CALLERS[nextCaller++ % CALLERS.length] as Caller,
    async jwtCaller(sub) {
      if (!options.jwt) throw new Error(`${name}: started without a JWT issuer`);
      return { grant: `jwt sub ${sub}`, key: await options.jwt.token(sub) };
    },
    executions,
    begin: () => beginCase(stack),
    keepFiles: () => void (keep = true),
    async stop() {
      await sidecar.stop();
      await tap.close();
      await upstream.peer.stop();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

function beginCase(stack: Stack): Case {
  const since = Date.now();
  const recordFrom = stack.executions().length;
  const auditFrom = stack.sidecar.auditLines.length;
  const answers: RawResponse[] = [];
  let limitedCallers = 1;
  const send = async (req: RawRequest) => {
    const res = await rawRequest(stack.sidecar.url, req);
    answers.push(res);
    return res;
  };
  const post: Case["post"] = (caller, session, body, headers, readMs) =>
    send({
      readMs,
      method: "POST",
      target: new URL(stack.sidecar.url).pathname,
      headers: headers ?? mcpHeaders(caller, session),
      body: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
  const findings = async (settleMs = 300): Promise<Finding[]> => {
    await quiet(() => stack.executions().length + stack.sidecar.auditLines.length, settleMs);
    return findingsOf({
      executions: stack.executions().slice(recordFrom),
      audits: stack.sidecar.auditLines.slice(auditFrom),
      answers,
      limitedCallers,
    });
  };
  return {
    since,
    send,
    post,
    async initialize(caller) {
      const res = await post(caller, undefined, initializeMessage());
      const session = header(res, "mcp-session-id");
      if (!session)
        throw new Error(`${stack.name}: initialize gave no session: ${res.status} ${res.text.slice(0, 300)}`);
      await post(caller, session, { jsonrpc: "2.0", method: "notifications/initialized" });
      return session;
    },
    limitedCallers: (n) => void (limitedCallers = n),
    findings,
    async judge(settleMs = 300) {
      const found = (await findings(settleMs)).map((f) => f.text);
      if (found.length > 0) stack.keepFiles();
      if (found.length > 0)
        found.push(`(${stack.name}; tap log ${stack.tap.logFile}; last bytes:\n${stack.tap.excerpt(since, 3000)})`);
      return found;
    },
    progress: () => ({ executions: stack.executions().length - recordFrom, answers: answers.length }),
  };
}

/** Resolves once `size()` has not changed for `settleMs` (executions and audit lines trail the answers). */
async function quiet(size: () => number, settleMs: number): Promise<void> {
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const now = size();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= settleMs) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}
