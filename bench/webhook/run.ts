// Admission latency of the injector webhook over real HTTPS, measured from a separate client
// process the way the API server calls it (keep-alive connections, AdmissionReview v1 bodies).
// Each scenario has a webhook process of its own; scenarios run interleaved in rounds, so load from other processes spreads evenly over them; each
// reports the round trip (client-measured) and the decision time inside the webhook process, with
// ratios to a bare HTTPS endpoint. Figures, not pass/fail: see bench/README.md.
//   npm run bench:webhook            (REQUESTS=1000 POLICIES=1000 by default)
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { Agent, request } from "undici";

const REQUESTS = Number(process.env.REQUESTS ?? 1000);
const POLICIES = Number(process.env.POLICIES ?? 1000);
const ROUNDS = 10;
const WARMUP = 500;
const here = import.meta.dirname;

interface Server {
  child: ChildProcess;
  port: number;
  ca: string;
  dispatcher: Agent;
}

async function startServer(env: Record<string, string>, connections = 1): Promise<Server> {
  const child = spawn(process.execPath, [join(here, "server.ts")], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const { port, ca } = JSON.parse(line) as { port: number; ca: string };
  return { child, port, ca, dispatcher: new Agent({ connect: { ca }, keepAliveTimeout: 90_000, connections }) };
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
}

function review(i: number, namespace: string, labels: Record<string, string>, image: string): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `uid-${i}`,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      operation: "CREATE",
      namespace,
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller" },
      object: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          generateName: "mcp-7d9f8b6c5d-",
          namespace,
          labels: { ...labels, "pod-template-hash": "7d9f8b6c5d" },
          ownerReferences: [
            { apiVersion: "apps/v1", kind: "ReplicaSet", name: "mcp-7d9f8b6c5d", uid: "rs", controller: true },
          ],
        },
        spec: {
          containers: [
            {
              name: "server",
              image,
              imagePullPolicy: "IfNotPresent",
              ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
              volumeMounts: [
                {
                  name: "kube-api-access-x",
                  mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
                  readOnly: true,
                },
              ],
            },
          ],
          restartPolicy: "Always",
          dnsPolicy: "ClusterFirst",
          serviceAccountName: "default",
          schedulerName: "default-scheduler",
          volumes: [
            {
              name: "kube-api-access-x",
              projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: "token" } }] },
            },
          ],
        },
      },
    },
  });
}

async function post(server: Server, body: string): Promise<{ status: number; answer: Record<string, unknown> }> {
  const res = await request(`https://127.0.0.1:${server.port}/mutate-pods`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
    dispatcher: server.dispatcher,
  });
  return { status: res.statusCode, answer: (await res.body.json()) as Record<string, unknown> };
}

interface Scenario {
  name: string;
  server: Server;
  bodies: string[];
  expectPatch: boolean;
  concurrency: number;
  roundTrips: number[];
  decisions: number[];
  cpuMicros: number;
  wallMs: number;
}

async function runBatch(s: Scenario, from: number, count: number): Promise<void> {
  let next = from;
  const end = from + count;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: s.concurrency }, async () => {
      while (next < end) {
        const body = s.bodies[next++ % s.bodies.length] as string;
        const t0 = performance.now();
        const { status, answer } = await post(s.server, body);
        s.roundTrips.push(performance.now() - t0);
        const response = answer.response as { allowed: boolean; patch?: string };
        if (status !== 200 || !response.allowed || Boolean(response.patch) !== s.expectPatch)
          throw new Error(`${s.name}: unexpected answer ${JSON.stringify(answer).slice(0, 200)}`);
      }
    }),
  );
  s.wallMs += performance.now() - started;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

const baseline = await startServer({ MODE: "baseline" });
const spread = await startServer({ POLICIES: String(POLICIES), NAMESPACES: "100" });
const unselected = await startServer({ POLICIES: String(POLICIES), NAMESPACES: "100" });
const crowded = await startServer({ POLICIES: String(POLICIES), NAMESPACES: "1" });
const busy = await startServer({ POLICIES: String(POLICIES), NAMESPACES: "100" }, 16);
try {
  const kestra = "ghcr.io/kestra-io/mcp-server-python:0.4.1";
  const selected = (ns: (i: number) => string) =>
    Array.from({ length: REQUESTS }, (_, i) => review(i, ns(i), { app: `mcp-${i % POLICIES}`, tier: "mcp" }, kestra));
  const scenario = (
    name: string,
    server: Server,
    bodies: string[],
    expectPatch: boolean,
    concurrency = 1,
  ): Scenario => ({
    name,
    server,
    bodies,
    expectPatch,
    concurrency,
    roundTrips: [],
    decisions: [],
    cpuMicros: 0,
    wallMs: 0,
  });
  const scenarios = [
    scenario(
      "bare HTTPS endpoint (baseline)",
      baseline,
      selected((i) => `ns-${i % 100}`),
      false,
    ),
    scenario(
      "injected; 1,000 policies over 100 namespaces",
      spread,
      selected((i) => `ns-${(i % POLICIES) % 100}`),
      true,
    ),
    scenario(
      "not selected; 1,000 policies over 100 namespaces",
      unselected,
      Array.from({ length: REQUESTS }, (_, i) => review(i, `ns-${i % 100}`, { app: "web" }, "nginx")),
      false,
    ),
    scenario(
      "injected; 1,000 policies in the pod's namespace",
      crowded,
      selected(() => "ns-0"),
      true,
    ),
    scenario(
      "injected; 16 admissions in flight",
      busy,
      selected((i) => `ns-${(i % POLICIES) % 100}`),
      true,
      16,
    ),
  ];
  const load = loadavg()[0] as number;
  for (const s of scenarios) {
    await runBatch(s, 0, WARMUP);
    s.roundTrips.length = 0;
    s.wallMs = 0;
    await post(s.server, JSON.stringify({ bench: "stats" }));
  }
  const perRound = Math.ceil(REQUESTS / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of scenarios) await runBatch(s, round * perRound, Math.min(perRound, REQUESTS - round * perRound));
  }
  for (const s of scenarios) {
    const stats = (await post(s.server, JSON.stringify({ bench: "stats" }))).answer as unknown as {
      decisions: number[];
      cpuMicros: number;
    };
    s.decisions = stats.decisions;
    s.cpuMicros = stats.cpuMicros;
  }

  const baseP50 = pct(sorted(scenarios[0]!.roundTrips), 50);
  const out = process.stdout;
  out.write(
    `\nWebhook admission latency: ${REQUESTS} AdmissionReviews per scenario (after ${WARMUP} warm-up), interleaved in ${ROUNDS} rounds,\n`,
  );
  out.write(
    `HTTPS keep-alive, Node ${process.version}, load average at start ${load.toFixed(2)} on ${(await import("node:os")).availableParallelism()} CPUs\n\n`,
  );
  out.write(
    `| scenario | round trip p50 ms | p90 ms | p99 ms | max ms | p50 vs baseline | decision p50 ms | decision p99 ms | webhook CPU µs | admissions/s |\n`,
  );
  out.write(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n`);
  for (const s of scenarios) {
    const rt = sorted(s.roundTrips);
    const d = sorted(s.decisions);
    const p50 = pct(rt, 50);
    out.write(
      `| ${s.name} | ${p50.toFixed(3)} | ${pct(rt, 90).toFixed(3)} | ${pct(rt, 99).toFixed(3)} | ${(rt.at(-1) as number).toFixed(3)} | ${(p50 / baseP50).toFixed(2)}x | ${pct(d, 50).toFixed(3)} | ${pct(d, 99).toFixed(3)} | ${Math.round(s.cpuMicros / s.decisions.length)} | ${Math.round((s.roundTrips.length / s.wallMs) * 1000)} |\n`,
    );
  }
  out.write(
    `\nwebhook process memory (RSS) with ${POLICIES} policies: ${rssMiB(spread.child.pid as number).toFixed(0)} MiB (bare endpoint: ${rssMiB(baseline.child.pid as number).toFixed(0)} MiB)\n`,
  );
} finally {
  for (const s of [baseline, spread, unselected, crowded, busy]) {
    await s.dispatcher.close();
    s.child.kill("SIGTERM");
  }
}
