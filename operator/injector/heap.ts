// The injected sidecar's V8 old-space cap, derived from its container's memory limit. Node sizes the
// heap from the cgroup's limit as if the heap could have all of it, so under a 256Mi limit V8 lets
// garbage pile up to about 256 MiB of heap before collecting hard, and the kernel kills the container
// first: Node itself, code, sockets' buffers and the young generation live outside the old space. The
// cap leaves them their share (measured in bench/proxy and test/sidecar/resources.test.ts: ADR 0961),
// so V8 collects before the limit and a heap that truly outgrows it fails as a heap, not as an OOM kill.
import type { V1EnvVar } from "@kubernetes/client-node";
import { SIDECAR_ENV } from "../../program/sidecar-environment.ts";
import type { ResourceRequirements } from "./config.ts";

/**
 * What the sidecar keeps outside V8's old space, in MiB: Node, code, buffers and the young generation.
 * Measured under the soak's traffic: peak RSS 208 MiB with a 82 MiB heap, so about 126 MiB outside it;
 * the rest is margin for the young generation (up to 3 × 8 MiB semi-spaces) and sockets' buffers.
 */
export const NON_HEAP_MIB = 144;
/** No cap below this: V8 needs room to start and load a policy. */
const MIN_OLD_SPACE_MIB = 64;
const BINARY: Record<string, number> = { Ki: 2 ** -10, Mi: 1, Gi: 2 ** 10, Ti: 2 ** 20 };
const DECIMAL: Record<string, number> = {
  "": 2 ** -20,
  k: 1e3 / 2 ** 20,
  M: 1e6 / 2 ** 20,
  G: 1e9 / 2 ** 20,
  T: 1e12 / 2 ** 20,
};

/**
 * A memory quantity in MiB, or undefined when it is not one this reads (e.g. an exponent form). A
 * number is bytes: the chart's schema allows integer quantities, and --sidecar-resources is its JSON.
 */
export function memoryMiB(quantity: string | number): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity).trim());
  if (!match) return undefined;
  const unit = match[2] ?? "";
  return Number(match[1]) * ((BINARY[unit] ?? DECIMAL[unit]) as number);
}

/** NODE_OPTIONS capping the old space under the memory limit, when the container has one. */
export function heapEnv(resources: ResourceRequirements | undefined): V1EnvVar | undefined {
  const limit = resources?.limits?.memory;
  const mib = limit === undefined ? undefined : memoryMiB(limit);
  if (mib === undefined) return undefined;
  const oldSpace = Math.max(MIN_OLD_SPACE_MIB, Math.floor(mib - NON_HEAP_MIB));
  // A limit beyond any heap needs no cap, and Node refuses to start with a flag it cannot read as an
  // integer (1.2e+22, Infinity): the sidecar would never start.
  if (!Number.isSafeInteger(oldSpace)) return undefined;
  return { name: SIDECAR_ENV.nodeOptions, value: `--max-old-space-size=${oldSpace}` };
}
