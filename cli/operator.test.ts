import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { main } from "./main.ts";
import { hostPort, runOperator } from "./operator.ts";
import { UsageError } from "./usage-error.ts";

describe("mcp-warden operator", () => {
  it("is a registered command that needs a sidecar image", async () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true));
    try {
      assert.equal(await main(["operator"]), 2);
    } finally {
      process.stderr.write = original;
    }
    assert.match(written.join(""), /operator needs --sidecar-image/);
  });

  it("refuses bad flag values before touching the cluster", async () => {
    await assert.rejects(runOperator(["--sidecar-image", "i", "--certificate-source", "vault"], {}), UsageError);
    await assert.rejects(runOperator(["--sidecar-image", "i", "--sidecar-pull-policy", "Sometimes"], {}), UsageError);
    await assert.rejects(runOperator(["--sidecar-image", "i", "--webhook-listen", "9443"], {}), /--webhook-listen must be HOST:PORT/);
    await assert.rejects(runOperator(["--sidecar-image", "i", "--sidecar-resources", "{"], {}), /--sidecar-resources must be JSON/);
  });

  it("exits 1 with the reason when there is no cluster to talk to", async () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true));
    try {
      assert.equal(await runOperator(["--sidecar-image", "i", "--kubeconfig", "/nonexistent/kubeconfig"], {}), 1);
    } finally {
      process.stderr.write = original;
    }
    assert.match(written.join(""), /mcp-warden operator: .*nonexistent/);
  });

  it("reads listen addresses, IPv6 included", () => {
    assert.deepEqual(hostPort("0.0.0.0:9443", "--x"), { host: "0.0.0.0", port: 9443 });
    assert.deepEqual(hostPort("[::]:9090", "--x"), { host: "::", port: 9090 });
    assert.deepEqual(hostPort(":9090", "--x"), { host: "0.0.0.0", port: 9090 });
    assert.throws(() => hostPort("host:70000", "--x"), UsageError);
  });
});
