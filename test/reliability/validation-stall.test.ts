// The worst arguments a caller can send do not stall a real sidecar process: while callers flood
// tools/call with ~100 KB arguments crafted against the schemas that used to backtrack or go
// quadratic (format url/uri/email/hostname/date-time, a nested-quantifier pattern, uniqueItems),
// the admin port answers every liveness probe within 100 ms, and every call is decided correctly.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { startCallLoad, type CallRecord } from "../support/call-load.ts";
import { tally } from "../support/mcp-clients.ts";
import { KEYS, mcpPolicy } from "../support/sidecar-harness.ts";
import { sidecarFiles, startSidecarProcess, type SidecarProcess } from "../support/sidecar-process.ts";
import { startControllableServer, type ControllableServer } from "../upstreams/controllable-server.ts";

const POLICY = mcpPolicy(`
default: deny
tools:
  - name: sleep
    arguments:
      type: object
      properties:
        ms: {type: integer}
        url: {type: string, format: url}
        site: {type: string, format: uri}
        email: {type: string, format: email}
        host: {type: string, format: hostname}
        when: {type: string, format: date-time}
        name: {type: string, pattern: '^([a-z]+)+$'}
        tags: {type: array, uniqueItems: true, items: {type: string}}
`);

const FLOOD_MS = 4_000;
const WORKERS = 4;
const PROBE_EVERY_MS = 20;
const LIVENESS_MS = 100;

/** One argument set per kind, the decision it must get, and the reason of a denial. */
const KINDS: { kind: string; args: Record<string, unknown>; outcome: "allowed" | "denied" }[] = [
  // ajv-formats' url regex is quadratic on ':' (96 KB held the event loop 10.6 s).
  { kind: "url 100 KB of ':'", args: { ms: 0, url: "http://" + ":".repeat(100_000) }, outcome: "denied" },
  { kind: "url 8 KB of ':' (checked)", args: { ms: 0, url: "http://" + ":".repeat(8_000) }, outcome: "denied" },
  { kind: "url 8 KB of 'a-'", args: { ms: 0, url: "http://" + "a-".repeat(4_000) + "!" }, outcome: "denied" },
  { kind: "email 100 KB", args: { ms: 0, email: "a@" + "a-".repeat(50_000) + "!" }, outcome: "denied" },
  { kind: "email 8 KB", args: { ms: 0, email: "a@" + "a.".repeat(4_000) + "-" }, outcome: "denied" },
  { kind: "hostname 8 KB", args: { ms: 0, host: "a-".repeat(4_000) + "!" }, outcome: "denied" },
  { kind: "uri 8 KB", args: { ms: 0, site: "a:" + "/a".repeat(4_000) + " " }, outcome: "denied" },
  { kind: "date-time 8 KB", args: { ms: 0, when: "2024-01-01T00:00:00." + "1".repeat(8_000) + "Q" }, outcome: "denied" },
  // (a+)+ against a's and one '!' is exponential on a backtracking engine; linear on RE2.
  { kind: "pattern 60 KB", args: { ms: 0, name: "a".repeat(60_000) + "!" }, outcome: "denied" },
  { kind: "pattern 100 KB", args: { ms: 0, name: "a".repeat(100_000) + "!" }, outcome: "denied" },
  { kind: "uniqueItems 12,000 distinct strings", args: { ms: 0, tags: Array.from({ length: 12_000 }, (_, i) => `t${i}`) }, outcome: "allowed" },
  { kind: "uniqueItems with a duplicate", args: { ms: 0, tags: [...Array.from({ length: 12_000 }, (_, i) => `t${i}`), "t0"] }, outcome: "denied" },
  { kind: "well-formed", args: { ms: 0, url: "https://example.com/a", email: "a@example.com", host: "example.com", when: "2024-02-29T12:00:00Z", name: "abc" }, outcome: "allowed" },
];

/** Liveness probes from a thread of their own, each on a new connection as the kubelet makes them. */
function startProbes(adminUrl: string): { stop(): Promise<number[]> } {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require("node:worker_threads");
    const http = require("node:http");
    const latencies = [];
    let stopping = false;
    parentPort.on("message", () => (stopping = true));
    const probe = () => new Promise((resolve, reject) => {
      const started = performance.now();
      http.get(workerData.url, { agent: false }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error("status " + res.statusCode))));
      }).on("error", reject);
    });
    (async () => {
      while (!stopping) {
        latencies.push(await probe());
        await new Promise((r) => setTimeout(r, workerData.every));
      }
      parentPort.postMessage(latencies);
    })().catch((err) => parentPort.postMessage({ error: String(err) }));
    `,
    { eval: true, workerData: { url: `${adminUrl}/healthz`, every: PROBE_EVERY_MS } },
  );
  const result = new Promise<number[]>((resolve, reject) => {
    worker.once("message", (message: number[] | { error: string }) => (Array.isArray(message) ? resolve(message) : reject(new Error(message.error))));
    worker.once("error", reject);
  });
  return {
    async stop() {
      worker.postMessage("stop");
      const latencies = await result;
      await worker.terminate();
      return latencies;
    },
  };
}

describe("validation cannot stall the sidecar", { timeout: 60_000 }, () => {
  let upstream: ControllableServer;
  let sidecar: SidecarProcess;
  before(async () => {
    upstream = await startControllableServer({ answers: "json" });
    const files = sidecarFiles(POLICY);
    sidecar = await startSidecarProcess({ policy: files.policy, apiKeys: files.apiKeys, upstream: upstream.url, discardAudit: true });
  });
  after(async () => {
    await sidecar?.stop();
    await upstream?.close();
  });

  it(`answers /healthz within ${LIVENESS_MS} ms while the worst arguments are validated, and decides each call correctly`, async (t) => {
    // The same probes on the idle sidecar first: what the machine alone adds (for the diagnostic).
    const idleProbes = startProbes(sidecar.adminUrl);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const idle = await idleProbes.stop();

    // Every worker goes through every kind, shifted so that different kinds are in flight together.
    const kindOf = (n: number, worker: number) => KINDS[(n + worker * 3) % KINDS.length] as (typeof KINDS)[number];
    const load = await startCallLoad({ targets: [{ url: sidecar.url, key: KEYS.alice }], workers: WORKERS, call: (n, worker) => ({ name: "sleep", arguments: kindOf(n, worker).args }) });
    const probes = startProbes(sidecar.adminUrl);
    await new Promise((resolve) => setTimeout(resolve, FLOOD_MS));
    const latencies = await probes.stop();
    const records = await load.stop();

    // Each worker's records are in its call order, so the n-th record of a worker is its n-th call.
    const seen = new Map<number, number>();
    const wrong: string[] = [];
    const perKind = new Map<string, string[]>();
    for (const record of records) {
      const n = seen.get(record.worker) ?? 0;
      seen.set(record.worker, n + 1);
      const expected = kindOf(n, record.worker);
      perKind.set(expected.kind, [...(perKind.get(expected.kind) ?? []), outcomeOf(record)]);
      if (!decidedAs(record, expected.outcome)) wrong.push(`${expected.kind}: ${outcomeOf(record)} ${record.text.slice(0, 200)}`);
    }
    const worst = Math.max(...latencies);
    const sorted = [...latencies].sort((a, b) => a - b);
    t.diagnostic(
      `idle: ${idle.length} probes, max ${Math.max(...idle).toFixed(1)} ms; flood: ${records.length} calls in ${FLOOD_MS} ms, ${latencies.length} probes, median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms, max ${worst.toFixed(1)} ms; ` +
        [...perKind].map(([kind, outcomes]) => `${kind}: ${JSON.stringify(tally(outcomes))}`).join("; "),
    );
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} calls were not decided as expected`);
    assert.ok(records.length >= KINDS.length * WORKERS, `only ${records.length} calls were made: the flood did not flood`);
    assert.ok(latencies.length >= FLOOD_MS / (PROBE_EVERY_MS + LIVENESS_MS), `only ${latencies.length} probes were answered`);
    assert.ok(worst < LIVENESS_MS, `the slowest /healthz took ${worst.toFixed(1)} ms`);
  });
});

function decidedAs(record: CallRecord, outcome: "allowed" | "denied"): boolean {
  if (record.status !== 200) return false;
  if (outcome === "allowed") return record.outcome === "allowed" && record.text === "slept 0 ms";
  return record.outcome === "denied" && record.reason === "invalid_arguments";
}

function outcomeOf(record: CallRecord): string {
  return record.reason ? `${record.outcome}/${record.reason}` : record.outcome;
}
