// The sidecar stays inside the resources the chart gives injected sidecars: a real sidecar process,
// started as the image starts it (the ENTRYPOINT's Node flags, the runtime stage's ENV, the old-space
// cap the injector derives from the memory limit), takes the
// soak's traffic (bench/soak/traffic.ts: allowed, denied, rate-limited and listed calls from 10
// agents, sessions with GET streams replaced all along) for a few thousand calls. Its peak resident
// memory (the kernel's high-water mark, start-up included) must stay under the memory limit, and the
// CPU it used under what the CPU request grants over the same time. Not a latency assertion: CPU
// seconds and bytes, which a loaded machine inflates far less than it inflates time.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { DEFAULT_SIDECAR_RESOURCES, type ResourceRequirements } from "../../operator/injector/config.ts";
import { heapEnv } from "../../operator/injector/heap.ts";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { AGENTS, SOAK_POLICY, Traffic } from "../../bench/soak/traffic.ts";
import { cpuSeconds } from "../../bench/proxy/proc.ts";
import { parseDockerfile } from "../image/dockerfile.ts";
import { sidecarFiles, startSidecarProcess, type SidecarProcess } from "../support/sidecar-process.ts";
import { startKestraDouble, type KestraDouble } from "../upstreams/kestra-double.ts";

const root = join(import.meta.dirname, "..", "..");
/** The soak's default rate; the test runs it for CALLS calls. */
const RATE = 100;
const CALLS = 3000;
const SESSIONS = 20;

/** A Kubernetes quantity of memory in bytes, or of CPU in cores. */
function quantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(text);
  assert.ok(match, `unsupported quantity ${text}`);
  const scale: Record<string, number> = {
    "": 1,
    m: 1e-3,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
  };
  return Number(match[1]) * (scale[match[2] ?? ""] as number);
}

function imageStart(): { nodeArgs: string[]; env: Record<string, string> } {
  const runtime = parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8")).stages.at(-1);
  const entrypoint = runtime?.instructions.find((i) => i.name === "ENTRYPOINT")?.exec ?? [];
  const env = Object.fromEntries(
    (runtime?.instructions ?? [])
      .filter((i) => i.name === "ENV")
      .flatMap((i) => i.words.map((w) => w.split("=", 2) as [string, string])),
  );
  return { nodeArgs: entrypoint.slice(1, -1), env };
}

const peakRssBytes = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;

describe("the sidecar's resources", () => {
  const chart = parse(readFileSync(join(root, "charts/mcp-warden/values.yaml"), "utf8")) as {
    sidecar: { resources: ResourceRequirements };
  };
  /** What the chart gives injected sidecars: its values, or (empty) the operator's defaults. */
  const resources =
    Object.keys(chart.sidecar.resources).length > 0 ? chart.sidecar.resources : DEFAULT_SIDECAR_RESOURCES;
  let upstream: KestraDouble;
  let sidecar: SidecarProcess;

  before(async () => {
    upstream = await startKestraDouble({ answers: "sse" });
    const files = sidecarFiles(SOAK_POLICY, AGENTS.map((a) => grantLine(a.grant, a.key)).join("\n") + "\n");
    const { nodeArgs, env } = imageStart();
    // The old-space cap the injector derives from the memory limit.
    const heap = heapEnv(resources);
    if (heap?.value) env[heap.name] = heap.value;
    sidecar = await startSidecarProcess({
      policy: files.policy,
      apiKeys: files.apiKeys,
      upstream: upstream.url,
      nodeArgs,
      env,
      discardAudit: true,
    });
  });
  after(async () => {
    await sidecar?.stop();
    await upstream?.close();
  });

  it("the chart gives injected sidecars a memory limit and CPU and memory requests", () => {
    assert.ok(
      resources.limits?.memory && resources.requests?.memory && resources.requests.cpu,
      JSON.stringify(resources),
    );
  });

  it("under the soak's traffic, peak memory stays under the limit and CPU inside the request", async () => {
    const traffic = new Traffic(sidecar.url);
    const cpuBefore = cpuSeconds([sidecar.pid]);
    const started = performance.now();
    await traffic.start(SESSIONS, RATE, 2_000);
    while (traffic.stats.sent < CALLS) await new Promise((r) => setTimeout(r, 100));
    await traffic.stop();
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds([sidecar.pid]) - cpuBefore;
    const peak = peakRssBytes(sidecar.pid);
    const limit = quantity(resources.limits?.memory as string);
    const granted = quantity(resources.requests?.cpu as string) * seconds;
    const heap = Number(/^nodejs_heap_size_total_bytes (\S+)$/m.exec(await sidecar.metricsText())?.[1] ?? Number.NaN);
    const figures = `${traffic.stats.sent} calls in ${seconds.toFixed(1)} s: peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB (limit ${resources.limits?.memory}; V8 heap now ${(heap / 2 ** 20).toFixed(0)} MiB), CPU ${cpu.toFixed(2)} s (request ${resources.requests?.cpu} grants ${granted.toFixed(2)} s)`;
    process.stderr.write(`${figures}\n`);
    assert.equal(traffic.stats.errors, 0, traffic.stats.errorSamples.join("\n"));
    assert.ok(
      traffic.stats.outcomes.allowed > 0 && traffic.stats.outcomes.denied > 0 && traffic.stats.outcomes.listed > 0,
      JSON.stringify(traffic.stats.outcomes),
    );
    assert.ok(peak < limit, figures);
    assert.ok(cpu <= granted, figures);
  });
});
