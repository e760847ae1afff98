// Runs a real sidecar (in this process) in front of a Kestra double for integration tests, with the
// audit and operational logs captured as parsed JSON lines.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";
import { pino } from "pino";
import { sidecarConfig, type SidecarConfig } from "../../sidecar/config.ts";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import type { Loggers } from "../../sidecar/observability/logging.ts";
import type { PolicySource } from "../../sidecar/policy-source.ts";
import { startSidecar, type RunningSidecar, type SidecarOptions } from "../../sidecar/sidecar.ts";
import { startKestraDouble, type KestraDouble, type KestraDoubleOptions } from "../upstreams/kestra-double.ts";
import { metricValue } from "./metrics.ts";
import { eventually } from "./eventually.ts";

export { metricValue } from "./metrics.ts";

export type LogLine = Record<string, unknown>;

/** Loggers writing parsed JSON lines into arrays. */
export function captureLoggers(): Loggers & { logLines: LogLine[]; auditLines: LogLine[] } {
  const logLines: LogLine[] = [];
  const auditLines: LogLine[] = [];
  const into = (lines: LogLine[]) => ({ write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  const common = {
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return {
    log: pino({ ...common, level: "debug" }, into(logLines)),
    audit: pino({ ...common, base: { audit: true } }, into(auditLines)),
    flush() {},
    logLines,
    auditLines,
  };
}

export const KEYS = { alice: "alice-secret-key-0001", bob: "bob-secret-key-0002" } as const;

export interface ProxyHarness {
  sidecar: RunningSidecar;
  dir: string;
  policyFile: string;
  logs: ReturnType<typeof captureLoggers>;
  /** An SDK client connected through the sidecar with the given API key (or none). */
  client(key?: string, options?: { name?: string; capabilities?: ClientCapabilities }): Promise<Client>;
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** Resolves once the sidecar's own session has listed the upstream's tools and learnt how it answers a missing one. */
  catalogued(): Promise<void>;
  close(): Promise<void>;
}

export interface Harness extends ProxyHarness {
  upstream: KestraDouble;
}

export interface HarnessOptions {
  /** Policy document text (written to a file the sidecar watches). */
  policy: string;
  upstream?: KestraDoubleOptions;
  config?: Partial<SidecarConfig>;
  /** Use this source instead of the policy file. */
  source?: PolicySource;
  /** Grants file content; defaults to alice and bob. null: no grants file. */
  apiKeys?: string | null;
  /** More for startSidecar: the Kubernetes configuration of a k8s:// policy, the pod name, a clock. */
  sidecar?: Pick<SidecarOptions, "kubeConfig" | "podName" | "clock">;
}

/** A sidecar in front of the Kestra double. */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const upstream = await startKestraDouble(options.upstream);
  try {
    const proxy = await startProxy(upstream.url, options);
    // The sidecar's own session (listing, probe) is done before the test's traffic, which tests count.
    await proxy.catalogued().catch(async (err: unknown) => {
      await proxy.close();
      throw err;
    });
    return {
      ...proxy,
      upstream,
      async close() {
        await proxy.close();
        await upstream.close();
      },
    };
  } catch (err) {
    await upstream.close();
    throw err;
  }
}

/** A sidecar in front of any upstream URL. */
export async function startProxy(
  upstreamUrl: string,
  options: Omit<HarnessOptions, "upstream">,
): Promise<ProxyHarness> {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-test-"));
  const policyFile = join(dir, "policy.yaml");
  writeFileSync(policyFile, options.policy);
  let apiKeysFile: string | undefined;
  if (options.apiKeys !== null) {
    apiKeysFile = join(dir, "api-keys");
    writeFileSync(apiKeysFile, options.apiKeys ?? `${grantLine("alice", KEYS.alice)}\n${grantLine("bob", KEYS.bob)}\n`);
  }
  const logs = captureLoggers();
  const config = sidecarConfig({
    policy: policyFile,
    upstream: new URL(upstreamUrl),
    listen: { host: "127.0.0.1", port: 0 },
    adminListen: { host: "127.0.0.1", port: 0 },
    apiKeysFile,
    reloadDebounceMs: 20,
    ...options.config,
  });
  const sidecar = await startSidecar({
    config,
    loggers: logs,
    source: options.source,
    processMetrics: false,
    ...options.sidecar,
  });
  const clients: Client[] = [];
  return {
    sidecar,
    dir,
    policyFile,
    logs,
    async client(key, clientOptions) {
      const client = new Client(
        { name: clientOptions?.name ?? "test-agent", version: "1.0.0" },
        { capabilities: clientOptions?.capabilities ?? {} },
      );
      const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
      await client.connect(new StreamableHTTPClientTransport(new URL(sidecar.url), { requestInit: { headers } }));
      clients.push(client);
      return client;
    },
    catalogued: () =>
      eventually(
        () =>
          logs.logLines.some(
            (l) => typeof l.msg === "string" && l.msg.startsWith("learnt how the upstream answers a missing tool"),
          ),
        "the sidecar's own listing and missing-tool probe",
      ),
    async metric(name, labels = {}) {
      const text = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
      return metricValue(text, name, labels);
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await sidecar.shutdown(2000);
    },
  };
}
