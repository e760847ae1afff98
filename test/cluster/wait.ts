// Polling for things a real cluster does asynchronously (controllers, informers, start-up), with
// deadlines and failure messages that say what was awaited and what was last seen.
import { setTimeout as sleep } from "node:timers/promises";
import type { WaitOptions } from "../support/eventually.ts";
import { describeExit } from "./processes.ts";
import type { ComponentProcess } from "./processes.ts";

export interface ReadinessOptions extends WaitOptions {
  /** What is awaited, for the failure message, e.g. "kube-apiserver /readyz". */
  description: string;
  /** The processes whose death makes waiting pointless and whose logs explain a failure. */
  components: ComponentProcess[];
}

/**
 * Waits until `probe` returns true. Fails early when one of the components exits, and on timeout;
 * either way the error carries the last probe outcome and the tail of each component's log.
 */
export async function waitUntilReady(probe: () => Promise<boolean>, options: ReadinessOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const dead = options.components.find((component) => !component.running);
    if (dead) {
      throw new Error(
        `${options.description}: ${dead.name} exited (${describeExit(dead.exitStatus!)}) before it was ready\n${logs(options.components)}`,
      );
    }
    let outcome: string;
    try {
      if (await probe()) return;
      outcome = "answered not ready";
    } catch (error) {
      outcome = error instanceof Error ? error.message : String(error);
    }
    if (performance.now() >= deadline) {
      throw new Error(
        `${options.description}: not ready after ${timeoutMs / 1000}s (last probe: ${outcome})\n${logs(options.components)}`,
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}

function logs(components: ComponentProcess[]): string {
  return components.map((component) => component.logTail(25)).join("\n");
}
