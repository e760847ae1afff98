// The sidecar's process gauges: the names users query (prom-client's), read from the process at
// scrape time, and nothing else (no event-loop, GC or heap-space series).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { registerProcessMetrics } from "./process-metrics.ts";
import { Registry } from "./prom-client.ts";

function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe("process metrics", () => {
  it("exports the process and heap gauges under prom-client's names, read when scraped", async () => {
    const registry = new Registry();
    registerProcessMetrics(registry);
    const first = samples(await registry.metrics());
    assert.deepEqual([...first.keys()].map((k) => k.replace(/\{.*$/, "")).sort(), [
      "nodejs_external_memory_bytes",
      "nodejs_heap_size_total_bytes",
      "nodejs_heap_size_used_bytes",
      "nodejs_version_info",
      "process_cpu_seconds_total",
      "process_cpu_system_seconds_total",
      "process_cpu_user_seconds_total",
      "process_open_fds",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
    ]);
    assert.ok((first.get("process_resident_memory_bytes") ?? 0) > 1024 * 1024, "RSS is the process's");
    assert.ok((first.get("nodejs_heap_size_used_bytes") ?? 0) > 0);
    assert.ok((first.get("process_open_fds") ?? 0) > 0);
    const cpu = first.get("process_cpu_seconds_total") ?? 0;
    assert.ok(cpu > 0, "CPU since the process started, not since registration");
    assert.equal(
      first.get(
        `nodejs_version_info{version="${process.version}",major="${process.versions.node.split(".")[0]}",minor="${process.versions.node.split(".")[1]}",patch="${process.versions.node.split(".")[2]}"}`,
      ),
      1,
    );
    const start = first.get("process_start_time_seconds") ?? 0;
    assert.ok(Math.abs(start - (Date.now() / 1000 - process.uptime())) < 2);
    // Burn some CPU: the counter follows the process at the next scrape.
    const from = process.cpuUsage();
    while (process.cpuUsage(from).user < 40_000);
    const second = samples(await registry.metrics());
    assert.ok((second.get("process_cpu_seconds_total") ?? 0) >= cpu + 0.03, "CPU is read at scrape time");
  });

  it("leaves process_open_fds out where the process's descriptors cannot be listed (no /proc), instead of reporting 0", async () => {
    const registry = new Registry();
    registerProcessMetrics(registry, { descriptorDirectory: "/nonexistent/proc/self/fd" });
    const scraped = samples(await registry.metrics());
    assert.equal(scraped.has("process_open_fds"), false, "process_open_fds without a value to read");
    assert.ok(scraped.has("process_resident_memory_bytes"), "the other gauges are there");
  });
});
