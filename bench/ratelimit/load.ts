// Closed-loop load for the rate-limit benchmark: `concurrency` callers each await one decision after
// another for a fixed time; every decision's latency is recorded from the monotonic clock.
import { compilePolicy, type CompiledPolicy } from "../../policy/compile.ts";
import { decideToolCall } from "../../policy/decide.ts";
import type { ToolCall } from "../../policy/decision.ts";
import { loadPolicyObject } from "../../policy/load.ts";
import type { RateLimitStore } from "../../policy/ratelimit/store.ts";

export interface LoadResult {
  decisions: number;
  allowed: number;
  seconds: number;
  /** Microseconds. */
  p50: number;
  p99: number;
  /** CPU time of this process during the run, microseconds (user + system). */
  cpuMicros: number;
}

/** Two limits per call, as a typical policy has: an all-tools budget and the tool's own, per caller. */
export function benchPolicy(toolMax: number): CompiledPolicy {
  return compilePolicy(
    loadPolicyObject(
      {
        apiVersion: "mcpwarden.io/v1alpha1",
        kind: "McpPolicy",
        metadata: { name: "bench", namespace: "agents" },
        spec: {
          default: "deny",
          allTools: { limits: [{ counter: "all-tools", window: "hour", max: 1_000_000 }] },
          tools: [{ name: "resume_execution", limits: [{ counter: "resume", window: "minute", max: toolMax }] }],
        },
      },
      "bench",
    ),
  );
}

/** Calls from `grants` different callers, in turn. */
export function benchCalls(grants: number): ToolCall[] {
  return Array.from({ length: grants }, (_, g) => ({
    tool: "resume_execution",
    args: { executionId: `e-${g}` },
    caller: { grant: `agent-${g}`, sub: `agent-${g}`, groups: [], claims: {} },
  }));
}

export async function runLoad(
  policy: CompiledPolicy,
  calls: readonly ToolCall[],
  store: RateLimitStore,
  options: { concurrency: number; durationMs: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  let allowed = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(options.durationMs) * 1_000_000n;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      for (;;) {
        const t0 = process.hrtime.bigint();
        if (t0 >= deadline) return;
        const admission = await decideToolCall(policy, calls[next++ % calls.length] as ToolCall, store);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1_000);
        if (admission.decision === "allowed") allowed++;
        else if (admission.reason === "store_unavailable") throw new Error(`store failed: ${admission.message}`);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  return {
    decisions: latencies.length,
    allowed,
    seconds,
    p50: latencies[latencies.length >> 1] ?? 0,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    cpuMicros: used.user + used.system,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? 0;
}
