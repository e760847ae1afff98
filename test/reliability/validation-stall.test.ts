// The worst arguments a caller can send do not stall a real sidecar process: while callers flood
// tools/call with ~100 KB arguments crafted against the schemas that used to backtrack or go
// quadratic (format url/uri/email/hostname/date-time, a nested-quantifier pattern, uniqueItems),
// the admin port answers every liveness probe within 100 ms, and every call is decided correctly.
// On main before ADR 0007 the first 100 KB url held the sidecar for seconds (the call load's 10 s
// hang detector fired).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { setPriority } from "node:os";
import { after, before, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { tally } from "../support/mcp-clients.ts";
import { KEYS } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { runPeer } from "../support/processes.ts";
import { CLI, sidecarFiles, startSidecarProcess, type SidecarProcess } from "../support/sidecar-process.ts";
import { startControllableServer, type ControllableServer } from "../upstreams/controllable-server.ts";
import { KINDS, type FloodRecord } from "./validation-flood.ts";

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

const FLOOD = new URL("./validation-flood.ts", import.meta.url).pathname;
const FLOOD_MS = 4_000;
const WORKERS = 3;
const PROBE_EVERY_MS = 20;
const LIVENESS_MS = 100;
/** Floods tried before a stall is called a stall (the machine alone can delay one probe past the bound). */
const FLOODS = 5;

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
    worker.once("message", (message: number[] | { error: string }) =>
      Array.isArray(message) ? resolve(message) : reject(new Error(message.error)),
    );
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

/** Runs the flood in a child process at a lower priority (nice 10), so the test's own callers yield
 * the CPU to the sidecar and the probes; resolves with what every call got. */
function flood(url: string): Promise<FloodRecord[]> {
  const child = spawn(process.execPath, [FLOOD, url, KEYS.alice, String(FLOOD_MS), String(WORKERS)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  setPriority(child.pid as number, 10);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`the flood exited ${code}:\n${stderr.slice(-2000)}`));
      else
        resolve(
          stdout
            .trim()
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as FloodRecord),
        );
    });
  });
}

describe("validation cannot stall the sidecar", { timeout: 60_000 }, () => {
  let upstream: ControllableServer;
  let sidecar: SidecarProcess;
  before(async () => {
    upstream = await startControllableServer({ answers: "json" });
    const files = sidecarFiles(POLICY);
    sidecar = await startSidecarProcess({
      policy: files.policy,
      apiKeys: files.apiKeys,
      upstream: upstream.url,
      discardAudit: true,
    });
  });
  after(async () => {
    await sidecar?.stop();
    await upstream?.close();
  });

  // A stall is there on every flood; the machine's own hiccups (other test files run alongside on two
  // cores) are not: the bound must hold on one of a few floods, and every call is decided right on all.
  it(`answers /healthz within ${LIVENESS_MS} ms while the worst arguments are validated, and decides each call correctly`, async (t) => {
    // The same probes on the idle sidecar first: what the machine alone adds (for the diagnostic).
    const idleProbes = startProbes(sidecar.adminUrl);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const idle = await idleProbes.stop();
    t.diagnostic(`idle: ${idle.length} probes, max ${Math.max(...idle).toFixed(1)} ms`);
    const worstOf: number[] = [];
    for (let attempt = 1; attempt <= FLOODS; attempt++) {
      const worst = await floodOnce(t, attempt);
      worstOf.push(worst);
      if (worst < LIVENESS_MS) break;
    }
    assert.ok(
      Math.min(...worstOf) < LIVENESS_MS,
      `the slowest /healthz took ${worstOf.map((w) => `${w.toFixed(1)} ms`).join(", then ")}`,
    );
  });

  async function floodOnce(t: { diagnostic(message: string): void }, attempt: number): Promise<number> {
    const flooding = flood(sidecar.url);
    const probes = startProbes(sidecar.adminUrl);
    const records = await flooding;
    const latencies = await probes.stop();

    const expected = new Map(KINDS.map((k) => [k.kind, k.outcome]));
    const wrong = records.filter((r) => !decidedAs(r, expected.get(r.kind) as "allowed" | "denied"));
    const perKind = new Map<string, string[]>();
    for (const r of records)
      perKind.set(r.kind, [...(perKind.get(r.kind) ?? []), r.reason ? `${r.outcome}/${r.reason}` : r.outcome]);
    const worst = Math.max(...latencies);
    const sorted = [...latencies].sort((a, b) => a - b);
    t.diagnostic(
      `flood ${attempt}: ${records.length} calls in ${FLOOD_MS} ms, ` +
        `${latencies.length} probes, median ${sorted[sorted.length >> 1]?.toFixed(1)} ms, max ${worst.toFixed(1)} ms; ` +
        [...perKind].map(([kind, outcomes]) => `${kind}: ${JSON.stringify(tally(outcomes))}`).join("; "),
    );
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} calls were not decided as expected`);
    assert.ok(
      records.length >= KINDS.length * WORKERS,
      `only ${records.length} calls were made: the flood did not flood`,
    );
    assert.ok(
      latencies.length >= FLOOD_MS / (PROBE_EVERY_MS + LIVENESS_MS),
      `only ${latencies.length} probes were answered`,
    );
    return worst;
  }
});

describe("a sidecar refuses a policy whose schemas could stall it", { timeout: 60_000 }, () => {
  it("exits 1 at startup, naming the field", async () => {
    const files = sidecarFiles(
      mcpPolicy(
        "tools:\n  - name: a\n    arguments: {type: object, properties: {ids: {type: array, uniqueItems: true}}}",
      ),
    );
    const run = await runPeer(
      process.execPath,
      [
        CLI,
        "sidecar",
        "--policy",
        files.policy,
        "--upstream",
        "http://127.0.0.1:9/mcp",
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /is invalid\n {2}spec\.tools\[0\]\.arguments\.properties\.ids\.uniqueItems: uniqueItems needs items declared scalar/,
    );
  });
});

function decidedAs(record: FloodRecord, outcome: "allowed" | "denied"): boolean {
  if (record.status !== 200) return false;
  if (outcome === "allowed") return record.outcome === "allowed" && record.text === "slept 0 ms";
  return record.outcome === "denied" && record.reason === "invalid_arguments";
}
