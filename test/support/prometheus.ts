// A real Prometheus (Debian's package) for tests of scrape configurations and queries: started on a
// free loopback port with a configuration and a data directory of its own, queried through its HTTP API.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPeer } from "./processes.ts";

export interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromTarget {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapePool: string;
  health: string;
}

export interface RunningPrometheus {
  url: string;
  /** An instant query; throws with Prometheus's error for a query it refuses. */
  query(expr: string): Promise<PromSeries[]>;
  targets(): Promise<{ activeTargets: PromTarget[]; droppedTargets: { discoveredLabels: Record<string, string> }[] }>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startPrometheus(config: string): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "prometheus-"));
  writeFileSync(join(dir, "prometheus.yml"), config);
  const port = await freePort();
  const peer = startPeer("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`${url}/-/ready`).then((r) => r.ok, () => false))) {
    if (peer.child.exitCode !== null || Date.now() > deadline) {
      await peer.stop();
      throw new Error(`prometheus did not start:\n${peer.output().slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const api = async <T>(path: string): Promise<T> => {
    const body = (await (await fetch(`${url}${path}`)).json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query: async (expr) => (await api<{ result: PromSeries[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    targets: () => api("/api/v1/targets"),
    async stop() {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
