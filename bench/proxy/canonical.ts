// What canonical forwarding costs per message (`npm run bench:canonical`), before and after, side by
// side in one process: the request side (the strict reading of a tools/call body, then either the
// original bytes forwarded, as before, or the canonical body under a minted id built by
// `upstreamMessages`, as now) and the answer side (before: the inspector read a tool call's answer only
// when it had to and rewrote only a filtered tools/list; the full path: every answer parsed, translated
// by `AnswerInspector.translate` and serialised again; now: `AnswerInspector.translateText`, which
// splices the client's id into answers a validating scan shows need nothing else, ADR 0118). "Before"
// is the code of the baseline commit itself (BENCH_BASELINE, default a086234, the last one that
// forwarded original bytes), exported and imported as it was (bench/proxy/baseline.ts). The answers are the bytes the proxy benchmark's upstream sends
// (the Kestra double, answering as SSE, with docstring-length descriptions): each case measures one SSE
// event's data, the SSE framing around it being the same before and after.
//
// Each repetition times a batch of messages (about BENCH_BATCH_MS, default 50 ms) with the monotonic
// clock, before and after interleaved so that noise from other processes falls on both; the figures
// are medians over BENCH_REPS repetitions (default 21). Figures, not a verdict: nothing passes or fails.
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type * as strictJson from "../../sidecar/json/strict-json.ts";
import type * as toolNames from "../../sidecar/enforcement/tool-names.ts";
import { decodeUtf8, parseStrictJson } from "../../sidecar/json/strict-json.ts";
import { classify, type ClientMessage } from "../../sidecar/mcp/jsonrpc.ts";
import { KnownTools } from "../../sidecar/enforcement/tool-names.ts";
import { AnswerInspector, type ForwardedRequest, type PendingToolCall } from "../../sidecar/proxy/answer-inspector.ts";
import { RequestIds } from "../../sidecar/proxy/request-ids.ts";
import { upstreamMessages } from "../../sidecar/proxy/upstream-messages.ts";
import { rawInitialize, rawPost } from "../../test/support/raw-mcp.ts";
import { startKestraDouble } from "../../test/upstreams/kestra-double.ts";
import { baselineTree } from "./baseline.ts";

const REPS = Number(process.env.BENCH_REPS ?? 21);
const BATCH_MS = Number(process.env.BENCH_BATCH_MS ?? 50);
const BASELINE = baselineTree(process.env.BENCH_BASELINE ?? "a086234");
const BEFORE = BASELINE.sha.slice(0, 7);
const MAX_DEPTH = 64; // --max-json-depth's default
const HIDDEN = "force_run_execution";
const hidden = (tool: string) => tool === HIDDEN;
const log = pino({ level: "silent" });
const call: PendingToolCall = { complete: () => undefined };

// The baseline's own modules, as that commit shipped them.
const old = {
  json: (await import(join(BASELINE.dir, "sidecar/json/strict-json.ts"))) as typeof strictJson,
  rpc: (await import(join(BASELINE.dir, "sidecar/mcp/jsonrpc.ts"))) as OldJsonRpc,
  inspector: (await import(join(BASELINE.dir, "sidecar/proxy/answer-inspector.ts"))) as OldInspectorModule,
  tools: (await import(join(BASELINE.dir, "sidecar/enforcement/tool-names.ts"))) as typeof toolNames,
};

interface OldJsonRpc {
  classify(raw: unknown): ClientMessage;
  idKey(id: string | number): string;
}
interface OldInspector {
  inspectText(text: string): string | undefined;
  finish(outcome: string, status?: number): void;
}
interface OldInspectorModule {
  AnswerInspector: new (options: Record<string, unknown>) => OldInspector;
}

// ---- request side ---------------------------------------------------------------------------------

const requestBody = (id: number, args: Record<string, unknown>, name: string) =>
  Buffer.from(JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } }));
const flowYaml = Array.from(
  { length: 70 },
  (_, i) => `  - id: step-${i}\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ inputs.value }} ${i}"`,
).join("\n");
const REQUESTS = {
  "tools/call resume_execution (the load generator's, ~0.1 KB)": requestBody(
    17,
    { namespace: "company.team", flow_id: "nightly-etl" },
    "resume_execution",
  ),
  "tools/call create_flow_from_yaml (~7 KB of YAML)": requestBody(
    17,
    { namespace: "company.team", yaml_definition: `id: big\nnamespace: company.team\ntasks:\n${flowYaml}` },
    "create_flow_from_yaml",
  ),
};

/** Before: the strict reading, the answer's bookkeeping by idKey, and the original bytes forwarded. */
function requestBefore(body: Buffer): unknown {
  const parsed = old.json.parseStrictJson(old.json.decodeUtf8(body), { maxDepth: MAX_DEPTH });
  const message = old.rpc.classify(parsed.value);
  if (message.kind !== "request") throw new Error("not a request");
  const requests = new Map([[old.rpc.idKey(message.id), message.id]]);
  const calls = new Map([[old.rpc.idKey(message.id), call]]);
  return requests.size + calls.size > 0 ? body : undefined;
}

/**
 * The sidecar's request ids, as a session sees them: "young" starts a new session every 1,000 requests;
 * "long" is one session past the 4,352 ids a scope remembers, where every mint also forgets the oldest.
 */
class Session {
  private ids = new RequestIds();
  private count = 0;
  private readonly young: boolean;

  constructor(kind: "young" | "long") {
    this.young = kind === "young";
    if (!this.young)
      for (let i = 0; i < 10_000; i++) this.ids.answered("session:bench", this.ids.mint("session:bench", i));
  }

  next(): RequestIds {
    if (this.young && ++this.count % 1000 === 0) this.ids = new RequestIds();
    return this.ids;
  }
}

/** Now: the same reading, then the canonical body under a minted id, encoded as the socket write will. */
function requestAfter(body: Buffer, session?: Session): unknown {
  const parsed = parseStrictJson(decodeUtf8(body), { maxDepth: MAX_DEPTH });
  const message = classify(parsed.value);
  if (message.kind !== "request") throw new Error("not a request");
  if (!session) return message;
  const ids = session.next();
  const sent = upstreamMessages([{ message, call }], ids, "session:bench", false);
  for (const minted of sent.forwarded.keys()) ids.answered("session:bench", minted); // as its answer will
  return Buffer.from(sent.body as string, "utf8");
}

// ---- answer side ----------------------------------------------------------------------------------

const ANSWER_ID = 7;
interface Answer {
  data: string;
  method: "tools/call" | "tools/list";
}

/** One SSE event's data per answer, as the upstream of the proxy benchmark sends it. */
async function upstreamAnswers(): Promise<Record<string, Answer>> {
  const double = await startKestraDouble({ descriptions: "docstring", answers: "sse" });
  try {
    const session = await rawInitialize(double.url);
    const headers = { "mcp-session-id": session, "mcp-protocol-version": "2025-03-26" };
    const dataOf = async (method: Answer["method"], params: unknown) => {
      const answer = await rawPost(double.url, { jsonrpc: "2.0", id: ANSWER_ID, method, params }, headers);
      const lines = answer.text.split(/\r?\n/).filter((l) => l.startsWith("data:"));
      if (lines.length !== 1)
        throw new Error(`expected one data line in the ${method} answer, got: ${answer.text.slice(0, 200)}`);
      return { data: (lines[0] as string).slice(5).trimStart(), method };
    };
    return {
      "tools/call resume_execution": await dataOf("tools/call", {
        name: "resume_execution",
        arguments: { namespace: "company.team", flow_id: "nightly-etl" },
      }),
      "tools/call list_executions (Kestra)": await dataOf("tools/call", {
        name: "list_executions",
        arguments: { namespace: "company.team" },
      }),
      "tools/list, 39 tools, 1 hidden": await dataOf("tools/list", {}),
    };
  } finally {
    await double.close();
  }
}

/** Before: the inspector as the old forward() set it up; it parsed only when it had to. */
function answerBefore(answer: Answer, known: InstanceType<typeof old.tools.KnownTools>): string {
  const key = old.rpc.idKey(ANSWER_ID);
  const list = answer.method === "tools/list";
  const inspector = new old.inspector.AnswerInspector({
    toolCalls: new Map(list ? [] : [[key, call]]),
    toolLists: new Set(list ? [key] : []),
    requests: new Map([[key, ANSWER_ID]]),
    hidden,
    knownTools: known,
    status: 200,
    soleRequest: key,
  });
  const out = inspector.inspectText(answer.data) ?? answer.data;
  inspector.finish("unknown", 200);
  return out;
}

/** The full path: the answer parsed, translated (client id back, tools arrays filtered) and serialised again. */
function answerAfter(answer: Answer, known: KnownTools): string {
  const inspector = answerInspector(answer, known);
  const out = JSON.stringify(inspector.translate(JSON.parse(answer.data)));
  inspector.finish("unknown", 200);
  return out;
}

/** Now: `translateText`, as the relay calls it: the fast path (ADR 0118) where it applies, else the full one. */
function answerNow(answer: Answer, known: KnownTools): string {
  const inspector = answerInspector(answer, known);
  const out = inspector.translateText(answer.data);
  inspector.finish("unknown", 200);
  if (typeof out !== "string") throw new Error("an answer was not relayed");
  return out;
}

function answerInspector(answer: Answer, known: KnownTools): AnswerInspector {
  const forwarded = new Map<number, ForwardedRequest>([
    [ANSWER_ID, { clientId: 42, method: answer.method, ...(answer.method === "tools/call" ? { call } : {}) }],
  ]);
  return new AnswerInspector({ forwarded, answered: () => undefined, hidden, knownTools: known, status: 200, log });
}

// ---- timing ---------------------------------------------------------------------------------------

type Work = () => unknown;
let sink: unknown;

/** Iterations that take about BATCH_MS, found after a warm-up. */
function calibrate(work: Work): number {
  for (let i = 0; i < 2000; i++) sink = work();
  let n = 100;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink = work();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms >= BATCH_MS / 4) return Math.max(1, Math.round((n * BATCH_MS) / ms));
    n *= 4;
  }
}

/** Median µs per message of each variant, their repetitions interleaved. */
function compare(variants: Record<string, Work>): Record<string, number> {
  const entries = Object.entries(variants);
  const batches = entries.map(([, work]) => calibrate(work));
  const samples = entries.map((): number[] => []);
  for (let rep = 0; rep < REPS; rep++) {
    entries.forEach(([, work], v) => {
      const n = batches[v] as number;
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) sink = work();
      (samples[v] as number[]).push(Number(process.hrtime.bigint() - start) / 1e3 / n);
    });
  }
  return Object.fromEntries(entries.map(([name], v) => [name, median(samples[v] as number[])]));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const us = (x: number) => `${x < 10 ? x.toFixed(2) : x.toFixed(1)} µs`;
const added = (x: number) => `${x < 0 ? "−" : "+"}${us(Math.abs(x))}`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const answers = await upstreamAnswers();
  // The answers must come out as the sidecar would relay them (the check is on the data, not time).
  for (const [name, answer] of Object.entries(answers)) {
    const after = JSON.parse(answerAfter(answer, new KnownTools())) as {
      id: unknown;
      result?: { tools?: { name: string }[] };
    };
    if (after.id !== 42) throw new Error(`${name}: the client's id was not restored`);
    if (
      answer.method === "tools/list" &&
      (after.result?.tools?.length !== 38 || after.result.tools.some((t) => t.name === HIDDEN))
    )
      throw new Error(`${name}: ${HIDDEN} was not removed`);
    if (JSON.stringify(JSON.parse(answerNow(answer, new KnownTools()))) !== answerAfter(answer, new KnownTools()))
      throw new Error(`${name}: the fast path relays another message`);
  }

  console.log(
    `mcp-warden canonical forwarding, per message, ${new Date().toISOString()}: before = ${BEFORE} (${BASELINE.ref}), after = this tree`,
  );
  console.log(
    `node ${process.version}, ${cpus().length} vCPUs (${cpus()[0]?.model ?? "?"}), load average at start ${loadavg()[0]?.toFixed(1)}; medians of ${REPS} repetitions of ~${BATCH_MS} ms batches\n`,
  );

  console.log("#### Request side: a POST body read strictly, then forwarded");
  console.log(
    "| request body | size | before: strict read, original bytes | after: strict read only | after: + canonical body, minted id (young session) | after, session past 4,352 requests | added per message (young / long) | after ÷ before (young / long) |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const [name, body] of Object.entries(REQUESTS)) {
    const [young, long] = [new Session("young"), new Session("long")];
    const m = compare({
      before: () => requestBefore(body),
      parse: () => requestAfter(body),
      young: () => requestAfter(body, young),
      long: () => requestAfter(body, long),
    });
    const [before, parse, y, l] = [m.before as number, m.parse as number, m.young as number, m.long as number];
    console.log(
      `| ${name} | ${kb(body.length)} | ${us(before)} | ${us(parse)} | ${us(y)} | ${us(l)} | ${added(y - before)} / ${added(l - before)} | ${ratio(y, before)} / ${ratio(l, before)} |`,
    );
  }

  console.log("\n#### Answer side: one upstream message (an SSE event's data) relayed to the client");
  console.log(
    `| answer | size | before: read only when needed | full path: parse + translate + stringify | now: translateText (fast path where it applies) | now ÷ before | now ÷ full path |`,
  );
  console.log("|---|---|---|---|---|---|---|");
  const [knownBefore, knownAfter] = [new old.tools.KnownTools(), new KnownTools()];
  for (const [name, answer] of Object.entries(answers)) {
    const m = compare({
      before: () => answerBefore(answer, knownBefore),
      after: () => answerAfter(answer, knownAfter),
      now: () => answerNow(answer, knownAfter),
    });
    const [before, after, now] = [m.before as number, m.after as number, m.now as number];
    console.log(
      `| ${name} | ${kb(Buffer.byteLength(answer.data))} | ${us(before)} | ${us(after)} | ${us(now)} | ${ratio(now, before)} | ${ratio(now, after)} |`,
    );
  }
  if (sink === Symbol.for("never")) console.log(sink); // keeps the results observable to the optimiser
}

await main();
