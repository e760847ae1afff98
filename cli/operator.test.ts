import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { main } from "./main.ts";
import { hostPort, operatorHelp, runOperator } from "./operator.ts";
import { UsageError } from "./usage-error.ts";

describe("mcp-warden operator", () => {
  it("is a registered command that needs a sidecar image", async () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string) => (written.push(String(chunk)), true);
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
    await assert.rejects(
      runOperator(["--sidecar-image", "i", "--webhook-listen", "9443"], {}),
      /--webhook-listen must be HOST:PORT/,
    );
    await assert.rejects(
      runOperator(["--sidecar-image", "i", "--sidecar-resources", "{"], {}),
      /--sidecar-resources must be JSON/,
    );
  });

  it("exits 1 with the reason when there is no cluster to talk to", async () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string) => (written.push(String(chunk)), true);
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

  it("names a bad log level and exits 2, before touching the cluster", async () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string) => (written.push(String(chunk)), true);
    try {
      assert.equal(await main(["operator", "--sidecar-image", "i", "--log-level", "bogus"]), 2);
    } finally {
      process.stderr.write = original;
    }
    assert.match(
      written.join(""),
      /^mcp-warden: --log-level must be one of trace, debug, info, warn, error, fatal, silent, got "bogus"\nusage: mcp-warden operator/,
    );
    await assert.rejects(
      runOperator(["--sidecar-image", "i"], { MCP_WARDEN_LOG_LEVEL: "loud" }),
      /--log-level \(from MCP_WARDEN_LOG_LEVEL\) must be one of/,
    );
  });

  it("lists every flag the chart passes, with its variable, in --help", () => {
    const help = operatorHelp();
    for (const flag of [
      "sidecar-image",
      "namespace",
      "kubeconfig",
      "webhook-listen",
      "admin-listen",
      "webhook-service",
      "webhook-host",
      "webhook-configuration",
      "webhook-secret",
      "certificate-source",
      "lease",
      "no-leader-election",
      "sidecar-pull-policy",
      "sidecar-resources",
      "shutdown-delay",
      "log-level",
      "tracing",
      "trace-sampling-ratio",
      "sidecar-otlp-endpoint",
    ]) {
      assert.match(help, new RegExp(`^  --${flag}\\b`, "m"), flag);
    }
    for (const env of [
      "MCP_WARDEN_SIDECAR_IMAGE",
      "POD_NAMESPACE",
      "MCP_WARDEN_LOG_LEVEL",
      "MCP_WARDEN_TRACING",
      "MCP_WARDEN_TRACE_SAMPLING_RATIO",
      "MCP_WARDEN_SIDECAR_OTLP_ENDPOINT",
      "POD_NAME",
    ]) {
      assert.match(help, new RegExp(`\\b${env}\\b`), env);
    }
  });

  it("knows every flag the chart's Deployment passes", () => {
    const template = readFileSync(
      join(import.meta.dirname, "..", "charts", "mcp-warden", "templates", "deployment.yaml"),
      "utf8",
    );
    const flags = [...template.matchAll(/^\s*- (--[a-z-]+)=/gm)].map((m) => m[1] as string);
    assert.ok(flags.length >= 10, flags.join(" "));
    const help = operatorHelp();
    for (const flag of flags) assert.match(help, new RegExp(`^  ${flag}\\b`, "m"), flag);
  });
});
