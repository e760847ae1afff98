// The flood of test/reliability/validation-stall.test.ts, in a process of its own that the test runs
// at a lower CPU priority: the callers' own work (building and sending 100 KB bodies) must not be what
// delays the liveness probes. Run: node validation-flood.ts URL KEY MS WORKERS; prints one JSON line
// per call (worker, call number, kind, how it was decided) and exits.
import { startCallLoad } from "../support/call-load.ts";

export interface Kind {
  kind: string;
  args: Record<string, unknown>;
  outcome: "allowed" | "denied";
}

/** One argument set per kind, the decision it must get, and the reason of a denial. */
export const KINDS: Kind[] = [
  // ajv-formats' url regex is quadratic on ':' (96 KB held the event loop 10.6 s).
  { kind: "url 100 KB of ':'", args: { ms: 0, url: "http://" + ":".repeat(100_000) }, outcome: "denied" },
  { kind: "url 8 KB of ':' (checked)", args: { ms: 0, url: "http://" + ":".repeat(8_000) }, outcome: "denied" },
  { kind: "url 8 KB of 'a-'", args: { ms: 0, url: "http://" + "a-".repeat(4_000) + "!" }, outcome: "denied" },
  { kind: "email 100 KB", args: { ms: 0, email: "a@" + "a-".repeat(50_000) + "!" }, outcome: "denied" },
  { kind: "email 8 KB", args: { ms: 0, email: "a@" + "a.".repeat(4_000) + "-" }, outcome: "denied" },
  { kind: "hostname 8 KB", args: { ms: 0, host: "a-".repeat(4_000) + "!" }, outcome: "denied" },
  { kind: "uri 8 KB", args: { ms: 0, site: "a:" + "/a".repeat(4_000) + " " }, outcome: "denied" },
  {
    kind: "date-time 8 KB",
    args: { ms: 0, when: "2024-01-01T00:00:00." + "1".repeat(8_000) + "Q" },
    outcome: "denied",
  },
  // (a+)+ against a's and one '!' is exponential on a backtracking engine; linear on RE2.
  { kind: "pattern 60 KB", args: { ms: 0, name: "a".repeat(60_000) + "!" }, outcome: "denied" },
  { kind: "pattern 100 KB", args: { ms: 0, name: "a".repeat(100_000) + "!" }, outcome: "denied" },
  {
    kind: "uniqueItems 8,000 distinct strings",
    args: { ms: 0, tags: Array.from({ length: 8_000 }, (_, i) => `t${i}`) },
    outcome: "allowed",
  },
  {
    kind: "uniqueItems with a duplicate",
    args: { ms: 0, tags: [...Array.from({ length: 8_000 }, (_, i) => `t${i}`), "t0"] },
    outcome: "denied",
  },
  {
    kind: "well-formed",
    args: {
      ms: 0,
      url: "https://example.com/a",
      email: "a@example.com",
      host: "example.com",
      when: "2024-02-29T12:00:00Z",
      name: "abc",
    },
    outcome: "allowed",
  },
];

/** Every worker goes through every kind, shifted so that different kinds are in flight together. */
export function kindOf(n: number, worker: number): Kind {
  return KINDS[(n + worker * 3) % KINDS.length] as Kind;
}

export interface FloodRecord {
  worker: number;
  n: number;
  kind: string;
  status: number;
  outcome: string;
  reason: string | undefined;
  text: string;
}

if (import.meta.main) {
  const [url, key, ms, workers] = process.argv.slice(2);
  const load = await startCallLoad({
    targets: [{ url: url as string, key: key as string }],
    workers: Number(workers),
    call: (n, worker) => ({ name: "sleep", arguments: kindOf(n, worker).args }),
  });
  await new Promise((resolve) => setTimeout(resolve, Number(ms)));
  const records = await load.stop();
  // Each worker's records are in its call order, so the n-th record of a worker is its n-th call.
  const seen = new Map<number, number>();
  for (const r of records) {
    const n = seen.get(r.worker) ?? 0;
    seen.set(r.worker, n + 1);
    const line: FloodRecord = {
      worker: r.worker,
      n,
      kind: kindOf(n, r.worker).kind,
      status: r.status,
      outcome: r.outcome,
      reason: r.reason,
      text: r.text.slice(0, 200),
    };
    process.stdout.write(JSON.stringify(line) + "\n");
  }
}
