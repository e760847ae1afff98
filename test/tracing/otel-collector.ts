// A real OpenTelemetry Collector (test/tracing/collector, built by build-collector.sh from the Go
// module proxy) with the OTLP receiver on a free loopback port and the file exporter writing every
// batch it receives as a JSON line: tests read the spans the collector got, as a backend would.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/ports.ts";
import { startPeer, type Peer } from "../support/processes.ts";

const BUILD = new URL("./build-collector.sh", import.meta.url).pathname;

/** One span as the collector's file exporter writes it (OTLP JSON), with its resource's service name. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** 1 internal, 2 server, 3 client (OTLP's SpanKind numbers). */
  kind: number;
  status: { code?: number; message?: string };
  attributes: Record<string, string | number | boolean>;
  service: string;
}

export interface RunningCollector {
  /** The OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT). */
  readonly endpoint: string;
  /** The OTLP/gRPC endpoint (OTEL_EXPORTER_OTLP_ENDPOINT with OTEL_EXPORTER_OTLP_PROTOCOL=grpc). */
  readonly grpcEndpoint: string;
  spans(): ReceivedSpan[];
  /** Waits until `predicate` holds for the spans received so far; returns them. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, what: string, timeoutMs?: number): Promise<ReceivedSpan[]>;
  stop(): Promise<void>;
}

export function collectorBinary(): string {
  return execFileSync("bash", [BUILD], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
    .trim()
    .split("\n")
    .at(-1) as string;
}

export async function startCollector(port?: number): Promise<RunningCollector> {
  const binary = collectorBinary();
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-otelcol-"));
  const out = join(dir, "spans.jsonl");
  const httpPort = port ?? (await freePort());
  const grpcPort = await freePort();
  const config = join(dir, "config.yaml");
  writeFileSync(
    config,
    [
      "receivers:",
      "  otlp:",
      "    protocols:",
      `      http: {endpoint: "127.0.0.1:${httpPort}"}`,
      `      grpc: {endpoint: "127.0.0.1:${grpcPort}"}`,
      "exporters:",
      `  file: {path: "${out}", flush_interval: 100ms}`,
      "service:",
      "  telemetry: {metrics: {level: none}}",
      "  pipelines:",
      "    traces: {receivers: [otlp], exporters: [file]}",
      "",
    ].join("\n"),
  );
  const peer = startPeer(binary, ["--config", config]);
  const endpoint = `http://127.0.0.1:${httpPort}`;
  await waitUntilListening(peer, httpPort);
  const spans = () => (existsSync(out) ? parseSpans(readFileSync(out, "utf8")) : []);
  return {
    endpoint,
    grpcEndpoint: `http://127.0.0.1:${grpcPort}`,
    spans,
    async waitFor(predicate, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const received = spans();
        if (predicate(received)) return received;
        if (Date.now() > deadline)
          throw new Error(`the collector did not receive ${what}; it has: ${received.map((s) => s.name).join(", ")}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await peer.stop();
    },
  };
}

function parseSpans(text: string): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const data = JSON.parse(line) as { resourceSpans?: OtlpResourceSpans[] };
    for (const rs of data.resourceSpans ?? []) {
      const service = String(attributesOf(rs.resource?.attributes)["service.name"] ?? "");
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? "",
            name: s.name,
            kind: s.kind ?? 0,
            status: s.status ?? {},
            attributes: attributesOf(s.attributes),
            service,
          });
        }
      }
    }
  }
  return spans;
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}
interface OtlpResourceSpans {
  resource?: { attributes?: OtlpAttribute[] };
  scopeSpans?: {
    spans?: {
      traceId: string;
      spanId: string;
      parentSpanId?: string;
      name: string;
      kind?: number;
      status?: { code?: number; message?: string };
      attributes?: OtlpAttribute[];
    }[];
  }[];
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] =
      value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
      value.doubleValue ??
      value.boolValue ??
      "";
  }
  return out;
}

async function waitUntilListening(peer: Peer, port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    })
      .then((r) => r.status < 500)
      .catch(() => false);
    if (ok) return;
    if (peer.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the collector did not listen on ${port}: ${peer.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
