// The process gauges of the sidecar's /metrics: CPU, resident memory, start time, open descriptors and
// the V8 heap, each read when Prometheus scrapes (nothing runs between scrapes). They keep
// prom-client's names (process_*, nodejs_*), so queries written for its default metrics still work.
// prom-client's collectDefaultMetrics is not used: it keeps an event-loop delay monitor sampling every
// 10 ms and a GC observer called on every collection, exports some 60 series per sidecar, and loads
// @opentelemetry/api (ADR 0940).
import { readdirSync } from "node:fs";
import { Counter, Gauge, type Registry } from "./prom-client.ts";

export interface ProcessMetricsOptions {
  /** Where the process's open descriptors are listed (Linux); elsewhere there is no process_open_fds. */
  descriptorDirectory?: string;
}

export function registerProcessMetrics(registry: Registry, options: ProcessMetricsOptions = {}): void {
  const registers = [registry];
  const descriptors = options.descriptorDirectory ?? "/proc/self/fd";
  registerCpuSeconds(registers);
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since unix epoch in seconds.",
    registers,
  }).set(Math.round(Date.now() / 1000 - process.uptime()));
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  // Only where descriptors can be counted: a gauge never set would read 0 (prom-client leaves it out too).
  if (openDescriptors(descriptors) !== undefined) {
    new Gauge({
      name: "process_open_fds",
      help: "Number of open file descriptors.",
      registers,
      collect() {
        const open = openDescriptors(descriptors);
        if (open !== undefined) this.set(open);
      },
    });
  }
  registerHeap(registers);
  new Gauge({
    name: "nodejs_version_info",
    help: "Node.js version info.",
    labelNames: ["version", "major", "minor", "patch"],
    registers,
  }).set(nodeVersion(), 1);
}

/** process_cpu_{user,system}_seconds_total and their sum: CPU used since the process started. */
function registerCpuSeconds(registers: Registry[]): void {
  const cpu = (name: string, help: string, seconds: (usage: NodeJS.CpuUsage) => number) => {
    let reported = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const total = seconds(process.cpuUsage());
        this.inc(Math.max(0, total - reported));
        reported = Math.max(total, reported);
      },
    });
  };
  cpu("process_cpu_user_seconds_total", "Total user CPU time spent in seconds.", (u) => u.user / 1e6);
  cpu("process_cpu_system_seconds_total", "Total system CPU time spent in seconds.", (u) => u.system / 1e6);
  cpu(
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
    (u) => (u.user + u.system) / 1e6,
  );
}

/** The V8 heap and Node's external memory, each read as it is scraped. */
function registerHeap(registers: Registry[]): void {
  const gauge = (name: string, help: string, bytes: (memory: NodeJS.MemoryUsage) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(bytes(process.memoryUsage()));
      },
    });
  gauge("nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.", (m) => m.heapTotal);
  gauge("nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.", (m) => m.heapUsed);
  gauge("nodejs_external_memory_bytes", "Node.js external memory size in bytes.", (m) => m.external);
}

/** Entries of /proc/self/fd (Linux); undefined elsewhere. */
function openDescriptors(directory: string): number | undefined {
  try {
    return readdirSync(directory).length - 1; // the directory listing's own descriptor
  } catch {
    return undefined;
  }
}

function nodeVersion(): { version: string; major: string; minor: string; patch: string } {
  const [major = "", minor = "", patch = ""] = process.versions.node.split(".");
  return { version: process.version, major, minor, patch };
}
