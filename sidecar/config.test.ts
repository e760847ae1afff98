import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseListen, parseSidecarConfig, sidecarHelp } from "./config.ts";

describe("sidecar configuration", () => {
  it("takes the contract's flags, with the documented defaults", () => {
    const c = parseSidecarConfig(
      [
        "--policy",
        "p.yaml",
        "--upstream",
        "http://127.0.0.1:8000/mcp",
        "--listen",
        "0.0.0.0:8080",
        "--admin-listen",
        "0.0.0.0:9090",
      ],
      {},
    );
    assert.equal(c.policy, "p.yaml");
    assert.equal(c.upstream.href, "http://127.0.0.1:8000/mcp");
    assert.deepEqual(c.listen, { host: "0.0.0.0", port: 8080 });
    assert.deepEqual(c.adminListen, { host: "0.0.0.0", port: 9090 });
    assert.equal(c.maxBodyBytes, 4 * 1024 * 1024);
    assert.equal(c.headersTimeoutMs, 10_000);
    assert.equal(c.kubernetesApi, undefined);
  });

  it("reads every setting from its MCP_WARDEN_* variable, and the flag wins", () => {
    const env = {
      MCP_WARDEN_POLICY: "env.yaml",
      MCP_WARDEN_UPSTREAM: "http://127.0.0.1:9/x",
      MCP_WARDEN_LISTEN: "8081",
      MCP_WARDEN_ADMIN_LISTEN: "[::1]:9091",
      MCP_WARDEN_MAX_BODY_BYTES: "1000",
      MCP_WARDEN_ALLOWED_ORIGINS: "https://a, https://b",
      MCP_WARDEN_SHUTDOWN_GRACE: "5s",
    };
    const c = parseSidecarConfig([], env);
    assert.equal(c.policy, "env.yaml");
    assert.equal(c.upstream.pathname, "/x");
    assert.deepEqual(c.listen, { host: "0.0.0.0", port: 8081 });
    assert.deepEqual(c.adminListen, { host: "::1", port: 9091 });
    assert.equal(c.maxBodyBytes, 1000);
    assert.deepEqual(c.allowedOrigins, ["https://a", "https://b"]);
    assert.equal(c.shutdownGraceMs, 5000);
    assert.equal(parseSidecarConfig(["--policy", "flag.yaml", "--max-body-bytes", "2000"], env).policy, "flag.yaml");
    assert.equal(parseSidecarConfig(["--max-body-bytes", "2000"], env).maxBodyBytes, 2000);
  });

  it("finds the in-cluster API server for service-account tokens", () => {
    const c = parseSidecarConfig(["--policy", "p"], {
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
    });
    assert.equal(c.kubernetesApi?.server, "https://10.96.0.1:443");
    assert.equal(c.kubernetesApi?.tokenFile, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  });

  it("explains every bad setting", () => {
    const bad: [string[], RegExp][] = [
      [[], /--policy .* is required/],
      [["--policy", "p", "--upstream", "ftp://x"], /http\(s\) URL/],
      [["--policy", "p", "--upstream", "not a url"], /must be a URL/],
      [["--policy", "p", "--listen", "host"], /HOST:PORT/],
      [["--policy", "p", "--listen", "1.2.3.4:70000"], /HOST:PORT/],
      [["--policy", "p", "--max-body-bytes=-1"], /integer ≥ 1/],
      [["--policy", "p", "--max-body-bytes", "1.5"], /integer ≥ 1/],
      [["--policy", "p", "--header-timeout", "soon"], /duration/],
      [["--policy", "p", "--log-level", "loud"], /log-level/],
      [["--policy", "p", "extra"], /unexpected argument/],
    ];
    for (const [argv, pattern] of bad)
      assert.throws(
        () => parseSidecarConfig(argv, {}),
        (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
        argv.join(" "),
      );
    assert.throws(() => parseSidecarConfig(["--policy", "p", "--bogus", "1"], {}), /Unknown option/);
  });

  it("documents every flag with its environment variable in --help", () => {
    const help = sidecarHelp();
    for (const name of [
      "POLICY",
      "UPSTREAM",
      "LISTEN",
      "ADMIN_LISTEN",
      "API_KEYS",
      "ALLOWED_ORIGINS",
      "MAX_BODY_BYTES",
      "MAX_JSON_DEPTH",
      "HEADER_TIMEOUT",
      "LOG_LEVEL",
      "SHUTDOWN_GRACE",
    ]) {
      assert.match(help, new RegExp(`MCP_WARDEN_${name}\\b`));
    }
    assert.match(help, /--admin-listen HOST:PORT/);
    assert.deepEqual(parseListen("x", "127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  });
});
