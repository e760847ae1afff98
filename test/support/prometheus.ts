// A real Prometheus server (Debian's `prometheus` package, installed by scripts/prerequisites.sh) for
// one test file: its own config and TSDB in a temp dir, loopback only, stopped with its process group.
//
//   const prometheus = await startPrometheus({ config: { global: { scrape_interval: "1s" }, scrape_configs: [...] } });
//   const series = await prometheus.query('sum by (decision) (rate(mcp_warden_tool_calls_total[30s]))');
//   await prometheus.stop();
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { startPeer, type Peer } from "./processes.ts";
import { freePort } from "./ports.ts";

export interface Sample {
  metric: Record<string, string>;
  /** [unix seconds, value as Prometheus prints it: a number, "NaN", "+Inf"] */
  value: [number, string];
}

export interface Target {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: "up" | "down" | "unknown";
  lastError: string;
}

export interface RuleState {
  name: string;
  type: "alerting" | "recording";
  health: string;
  lastError?: string;
  state?: "inactive" | "pending" | "firing";
  alerts?: Array<{ labels: Record<string, string>; state: string; value: string }>;
}

export interface RunningPrometheus {
  url: string;
  dir: string;
  /** An instant query at the current time; rejects with Prometheus's error for a bad query. */
  query(expr: string): Promise<Sample[]>;
  /** GET /api/v1/label/<label>/values?match[]=<selector>, as Grafana's label_values() does. */
  labelValues(label: string, selector: string): Promise<string[]>;
  targets(): Promise<Target[]>;
  /** Targets service discovery found and relabelling dropped: only their discovered labels. */
  droppedTargets(): Promise<Array<{ discoveredLabels: Record<string, string> }>>;
  rules(): Promise<RuleState[]>;
  log(): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** prometheus.yml as an object, or as the text a user would write. */
  config: Record<string, unknown> | string;
  /** Extra files written next to the config (rule files), by name. */
  files?: Record<string, string>;
  /** Extra command-line flags, e.g. ["--enable-feature=exemplar-storage"]. */
  flags?: readonly string[];
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-prometheus-"));
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(configFile, typeof options.config === "string" ? options.config : stringify(options.config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const peer: Peer = startPeer("prometheus", [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--storage.tsdb.retention.time=1h",
    "--log.level=warn",
    ...(options.flags ?? []),
  ]);
  // A missing binary is an "error" event, not an exception.
  const spawnError = new Promise<never>((_, reject) =>
    peer.child.once("error", (e) =>
      reject(new Error(`cannot start prometheus (scripts/prerequisites.sh installs it): ${e.message}`)),
    ),
  );
  spawnError.catch(() => undefined);
  const started = performance.now();
  for (;;) {
    if (peer.child.exitCode !== null)
      throw new Error(`prometheus exited with ${peer.child.exitCode}:\n${peer.output().slice(-3000)}`);
    const ready = await Promise.race([
      fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      ),
      spawnError,
    ]);
    if (ready) break;
    if (performance.now() - started > 30_000) {
      await peer.stop();
      throw new Error(`prometheus was not ready within 30 s:\n${peer.output().slice(-3000)}`);
    }
    await sleep(100);
  }

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== "success")
      throw new Error(`Prometheus ${path.split("?")[0]}: ${body.errorType}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    dir,
    async query(expr) {
      const data = await api<{ resultType: string; result: Sample[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      if (data.resultType !== "vector")
        throw new Error(`expected an instant vector from ${expr}, got ${data.resultType}`);
      return data.result;
    },
    async labelValues(label, selector) {
      return await api<string[]>(
        `/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(selector)}`,
      );
    },
    async targets() {
      return (await api<{ activeTargets: Target[] }>("/api/v1/targets?state=active")).activeTargets;
    },
    async droppedTargets() {
      return (
        await api<{ droppedTargets: Array<{ discoveredLabels: Record<string, string> }> }>(
          "/api/v1/targets?state=dropped",
        )
      ).droppedTargets;
    },
    async rules() {
      return (await api<{ groups: Array<{ rules: RuleState[] }> }>("/api/v1/rules")).groups.flatMap((g) => g.rules);
    },
    log: () => peer.output(),
    async stop() {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
