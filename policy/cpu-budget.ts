// The CPU a single decision may take. JavaScript cannot stop synchronous code, so this does not
// bound a check while it runs (the safe JSON Schema configuration and RE2 do that, ADR 0007); it makes
// sure a decision that took too long is never an admission: whatever the checks said, it denies.
// It is CPU time of the thread, not wall time, so a busy machine preempting the sidecar does not
// deny calls; the wall clock (cheaper to read) only decides when the CPU clock is worth reading.
import type { Decision, ToolCall } from "./decision.ts";

/**
 * The default budget. Deciding takes microseconds (bench/policy); the worst arguments the safe
 * configuration admits (64 KiB strings under patterns) take a few milliseconds. 50 ms is half of the
 * 100 ms within which the admin port must answer a liveness probe.
 */
export const DEFAULT_CPU_BUDGET_MS = 50;

export function cpuBudgetExceeded(call: ToolCall, elapsedMs: number, budgetMs: number, rule: string): Decision {
  return {
    decision: "denied",
    reason: "cpu_budget_exceeded",
    message:
      `Call to '${call.tool}' denied: policy evaluation exceeded its CPU budget (${elapsedMs.toFixed(0)} ms, budget ${budgetMs} ms). ` +
      `Send smaller arguments.`,
    rule,
  };
}

export interface RunningBudget {
  /** The CPU milliseconds spent since the start when they exceed the budget, else undefined. */
  overrun(): number | undefined;
}

export function startBudget(budgetMs: number): RunningBudget {
  const wallStart = performance.now();
  const cpuStart = process.threadCpuUsage();
  return {
    overrun() {
      // CPU time never exceeds wall time on one thread.
      if (performance.now() - wallStart <= budgetMs) return undefined;
      const cpu = process.threadCpuUsage(cpuStart);
      const spentMs = (cpu.user + cpu.system) / 1000;
      return spentMs > budgetMs ? spentMs : undefined;
    },
  };
}
