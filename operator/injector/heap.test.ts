import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { parseOperatorConfig } from "../config.ts";
import type { ResourceRequirements } from "./config.ts";
import { heapEnv, memoryMiB, NON_HEAP_MIB } from "./heap.ts";

describe("the sidecar's old-space cap", () => {
  it("reads binary and decimal memory quantities", () => {
    assert.equal(memoryMiB("256Mi"), 256);
    assert.equal(memoryMiB("1Gi"), 1024);
    assert.equal(memoryMiB("524288Ki"), 512);
    assert.equal(memoryMiB("268435456"), 256);
    assert.equal(memoryMiB("500M"), 500e6 / 2 ** 20);
    assert.equal(memoryMiB("1e9"), undefined);
  });

  it("leaves the non-heap share of the memory limit outside the old space", () => {
    assert.deepEqual(heapEnv({ limits: { memory: "320Mi" } }), {
      name: "NODE_OPTIONS",
      value: `--max-old-space-size=${320 - NON_HEAP_MIB}`,
    });
    assert.deepEqual(heapEnv({ limits: { memory: "2Gi" } }), {
      name: "NODE_OPTIONS",
      value: `--max-old-space-size=${2048 - NON_HEAP_MIB}`,
    });
  });

  it("never caps below what V8 needs to start, and sets nothing without a limit it can read", () => {
    assert.equal(heapEnv({ limits: { memory: "96Mi" } })?.value, "--max-old-space-size=64");
    assert.equal(heapEnv({ requests: { memory: "64Mi" } }), undefined);
    assert.equal(heapEnv(undefined), undefined);
    assert.equal(heapEnv({ limits: { memory: "1e9" } }), undefined);
  });

  it("sets nothing Node would refuse to start with when the limit is larger than any heap", () => {
    for (const memory of ["12345678901234567890Gi", "1" + "0".repeat(400), "20000000000000000000Mi"]) {
      const env = heapEnv({ limits: { memory } });
      if (env === undefined) continue;
      const started = spawnSync(process.execPath, ["-e", ""], {
        env: { ...process.env, NODE_OPTIONS: env.value },
        encoding: "utf8",
      });
      assert.equal(started.status, 0, `${memory}: ${env.value}: ${started.stderr}`);
    }
    assert.equal(heapEnv({ limits: { memory: "12345678901234567890Gi" } }), undefined);
    assert.equal(
      heapEnv({ limits: { memory: "1000000Ti" } })?.value,
      `--max-old-space-size=${1000000 * 2 ** 20 - NON_HEAP_MIB}`,
    );
  });

  it("reads a limit the chart passes as a number of bytes (its schema allows integer quantities)", () => {
    const resources = parseOperatorConfig(
      ["--sidecar-image=mcp-warden:test", `--sidecar-resources={"limits":{"memory":402653184}}`],
      {},
    ).operator.sidecarResources;
    assert.deepEqual(heapEnv(resources), { name: "NODE_OPTIONS", value: `--max-old-space-size=${384 - NON_HEAP_MIB}` });
    assert.equal(
      heapEnv(JSON.parse(`{"limits":{"memory":1e9}}`) as ResourceRequirements)?.value,
      `--max-old-space-size=${Math.floor(1e9 / 2 ** 20 - NON_HEAP_MIB)}`,
    );
  });
});
