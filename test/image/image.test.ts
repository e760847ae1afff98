// The container image, without a Docker engine: the Dockerfile and .dockerignore are parsed and
// checked, then the image's /app is rebuilt the way `docker build` would (the ignore rules applied to
// the repository, every stage's COPY and RUN lines: the production `npm ci`, the TypeScript build),
// and the ENTRYPOINT is run from it: the subcommands the chart and the injector use start, every
// runtime module loads with production dependencies only, and the sidecar enforces a real call.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import type { V1Deployment } from "@kubernetes/client-node";
import { SIDECAR_UID } from "../../operator/injector/sidecar.ts";
import { get, renderChart } from "../chart/chart.ts";
import { rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";
import { runPeer, startPeer, type Peer } from "../support/processes.ts";
import { startKestraDouble, type KestraDouble } from "../upstreams/kestra-double.ts";
import { dockerignore, parseDockerfile, type Stage } from "./dockerfile.ts";
import { freePort } from "../support/ports.ts";

const root = join(import.meta.dirname, "..", "..");
const dockerfile = parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8"));
const inContext = dockerignore(readFileSync(join(root, ".dockerignore"), "utf8"));
const runtime = dockerfile.stages.at(-1) as Stage;
/** Node flags of the image's entrypoint (ADR 0108); the installed launcher passes the same. */
const IMAGE_NODE_FLAGS = ["--max-semi-space-size=8"];
const entrypoint = runtime.instructions.find((i) => i.name === "ENTRYPOINT")?.exec ?? [];
/** What the stages copy from the build context (COPY <path>… <destination>). */
const copiedSources = dockerfile.stages.flatMap((stage) =>
  stage.instructions.filter((i) => i.name === "COPY" && !i.flags.from).flatMap((i) => i.words.slice(0, -1)),
);
/** Every stage works in /app; a stage's /app is a directory of its own here. */
const WORKDIR = "/app";
const repositoryFiles = () =>
  execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter(Boolean);

describe("Dockerfile", () => {
  it("is multi-stage: production dependencies installed apart, a Node 24 runtime without a shell", () => {
    assert.ok(dockerfile.stages.length >= 2);
    const dependencies = dockerfile.stages.find((s) => s.name === "dependencies") as Stage;
    assert.match(dependencies.image, /node:24-/);
    const install = dependencies.instructions.find((i) => i.name === "RUN" && /npm ci/.test(i.raw));
    assert.match(install?.raw ?? "", /npm ci --omit=dev --ignore-scripts/);
    assert.equal(runtime.image, "gcr.io/distroless/nodejs24-debian12:nonroot");
    assert.deepEqual(runtime.instructions.find((i) => i.name === "COPY" && i.flags.from)?.flags, {
      from: "dependencies",
    });
  });

  it("runs as the numeric non-root user the chart and the injector set", async () => {
    assert.deepEqual(
      runtime.instructions.filter((i) => i.name === "USER").map((i) => i.raw),
      [`${SIDECAR_UID}:${SIDECAR_UID}`],
    );
    const deployment = get<V1Deployment>(await renderChart(), "Deployment");
    assert.equal(deployment.spec?.template.spec?.securityContext?.runAsUser, SIDECAR_UID);
  });

  it("has an exec-form ENTRYPOINT: Node running cli/mcp-warden.ts from /app", () => {
    assert.deepEqual(entrypoint, ["/nodejs/bin/node", ...IMAGE_NODE_FLAGS, "/app/cli/mcp-warden.js"]);
    for (const stage of dockerfile.stages)
      assert.equal(stage.instructions.find((i) => i.name === "WORKDIR")?.raw, WORKDIR);
    assert.equal(
      runtime.instructions.find((i) => i.name === "CMD"),
      undefined,
      "the chart and the injector give the subcommand as args",
    );
    const launcher = readFileSync(join(root, "cli", "bin", "mcp-warden"), "utf8");
    assert.match(
      launcher,
      new RegExp(`exec "\\$node" ${IMAGE_NODE_FLAGS.join(" ")} "\\$root/cli/\\$entry"`),
      "cli/bin/mcp-warden runs Node with the image's flags",
    );
  });
});

describe(".dockerignore", () => {
  it("sends the runtime sources and the lockfile, and no tests, fixtures, node_modules or clone metadata", () => {
    for (const path of [
      "package.json",
      "package-lock.json",
      "cli/main.ts",
      "sidecar/sidecar.ts",
      "operator/operator.ts",
      "kube/informer.ts",
      "sidecar/ratelimit/redis-sliding-window.lua",
    ]) {
      assert.ok(inContext(path), `${path} must be in the context`);
    }
    for (const path of [
      "node_modules/yaml/package.json",
      ".git/HEAD",
      "test/cluster/harness.ts",
      "charts/mcp-warden/Chart.yaml",
      "docs/operator.md",
      "bench/README.md",
      "cli/main.test.ts",
      "operator/injector/testdata/hostnetwork.yaml",
      "cli/testing.ts",
      "policy/testing.ts",
      "policy/catalog/testing.ts",
      "kube/manual-clock.testing.ts",
      "policy/ratelimit/store-conformance.testing.ts",
      "Dockerfile",
    ]) {
      assert.ok(!inContext(path), `${path} must not be in the context`);
    }
  });

  it("leaves out exactly the test files of the copied directories", () => {
    for (const file of repositoryFiles()) {
      const copied = copiedSources.some((source) => file === source || file.startsWith(`${source}/`));
      const testOnly = /\.test\.ts$|\/testdata\/|(^|\/|\.)testing\.ts$/.test(file);
      assert.equal(inContext(file), copied && !testOnly, file);
    }
  });
});

/** A COPY line: from the context (ignore rules applied) or from an earlier stage's /app. */
function copyInto(
  dir: string,
  copy: Stage["instructions"][number],
  context: string[],
  stageDirs: Map<string, string>,
): void {
  const sources = copy.words.slice(0, -1);
  const destination = copy.words.at(-1) as string;
  const target = join(dir, destination);
  for (const source of sources) {
    if (copy.flags.from) {
      const from = stageDirs.get(copy.flags.from);
      assert.ok(from, `COPY --from=${copy.flags.from}: no such stage`);
      cpSync(join(from, relative(WORKDIR, source)), target, { recursive: true });
      continue;
    }
    const matched = context.filter((f) => f === source || f.startsWith(`${source}/`));
    assert.ok(matched.length > 0, `${source} is not in the build context`);
    for (const file of matched) {
      const into =
        file === source
          ? destination.endsWith("/")
            ? join(target, file)
            : target
          : join(target, relative(source, file));
      mkdirSync(dirname(into), { recursive: true });
      cpSync(join(root, file), into);
    }
  }
}

/** A RUN line, each `&&` step in turn; npm answers from this machine's cache, which is left as it is. */
function runIn(dir: string, command: string): void {
  for (const step of command.split("&&").map((s) => s.trim())) {
    if (step === "npm cache clean --force") continue;
    const words = step.split(/\s+/);
    if (words[0] === "npm") {
      assert.equal(words[1], "ci", `only npm ci is emulated, not ${step}`);
      const out = execFileSync("npm", [...words.slice(1), "--prefer-offline"], {
        cwd: dir,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 300_000,
      });
      assert.match(out, /added \d+ packages/);
    } else {
      execFileSync("sh", ["-c", step], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
    }
  }
}

describe("the image's /app, built without Docker", { timeout: 600_000 }, () => {
  let work: string;
  let app: string;
  const peers: Peer[] = [];
  let kestra: KestraDouble | undefined;
  /** Runs the ENTRYPOINT with the given args, /nodejs/bin/node being this Node and /app the rebuilt tree. */
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runPeer(
      process.execPath,
      [...entrypoint.slice(1, -1), join(app, relative("/app", entrypoint.at(-1) as string)), ...args],
      { env: { ...env, NODE_ENV: "production" }, timeoutMs: 60_000 },
    );

  before(() => {
    work = mkdtempSync(join(tmpdir(), "mcp-warden-image-"));
    const files = repositoryFiles().filter(inContext);
    const stageDirs = new Map<string, string>();
    for (const [index, stage] of dockerfile.stages.entries()) {
      const last = index === dockerfile.stages.length - 1;
      const dir = last ? join(work, "app") : join(work, stage.name ?? `stage-${index}`);
      mkdirSync(dir);
      if (stage.name) stageDirs.set(stage.name, dir);
      for (const instruction of stage.instructions) {
        if (instruction.name === "COPY") copyInto(dir, instruction, files, stageDirs);
        if (instruction.name === "RUN") runIn(dir, instruction.raw);
      }
    }
    app = join(work, "app");
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await kestra?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("holds production dependencies only", () => {
    const modules = readdirSync(join(app, "node_modules"));
    for (const dev of ["typescript", "eslint", "fast-check", "node", "@modelcontextprotocol"]) {
      if (dev === "@modelcontextprotocol")
        assert.deepEqual(readdirSync(join(app, "node_modules", dev)), ["sdk"], "the SDK only, not the test peers");
      else assert.ok(!modules.includes(dev), `${dev} is a development dependency`);
    }
    const sources = readdirSync(app, { recursive: true, encoding: "utf8" }).filter(
      (f) => !f.startsWith("node_modules/"),
    );
    assert.deepEqual(
      sources.filter((f) => f.endsWith(".ts")),
      [],
      "compiled JavaScript only",
    );
    assert.deepEqual(
      sources.filter((f) => /\.test\.js$|(^|\/|\.)testing\.js$/.test(f)),
      [],
      "no tests or test helpers",
    );
  });

  it("starts the subcommands the chart's Deployment and the injector's sidecar use", async () => {
    const deployment = get<V1Deployment>(await renderChart(), "Deployment");
    const operatorArgs = deployment.spec?.template.spec?.containers[0]?.args ?? [];
    assert.equal(operatorArgs[0], "operator");
    const operatorHelp = await run([operatorArgs[0], "--help"]);
    assert.equal(operatorHelp.code, 0, operatorHelp.stderr);
    assert.match(operatorHelp.stdout, /^usage: mcp-warden operator --sidecar-image IMAGE/);
    const sidecarHelp = await run(["sidecar", "--help"]);
    assert.equal(sidecarHelp.code, 0, sidecarHelp.stderr);
    assert.match(sidecarHelp.stdout, /^usage: mcp-warden sidecar --policy/);
    // The chart's whole command line parses: the run gets as far as looking for a cluster.
    const operator = await run([...operatorArgs, "--kubeconfig", join(work, "no-such-kubeconfig")], {
      POD_NAMESPACE: "mcp-warden",
    });
    assert.equal(operator.code, 1, `exit 2 would be a usage error: ${operator.stderr}`);
    assert.match(operator.stderr, /^mcp-warden operator: .*no-such-kubeconfig/);
  });

  it("loads every runtime module, including those imported on demand, with production dependencies only", async () => {
    // Every runtime source, compiled, but the entrypoints themselves, which would run the command line.
    const entrypoints = ["cli/mcp-warden.ts", "cli/kubectl-plugin.ts"];
    const modules = repositoryFiles()
      .filter((f) => inContext(f) && f.endsWith(".ts") && !entrypoints.includes(f))
      .map((f) => join(app, f.replace(/\.ts$/, ".js")));
    assert.ok(modules.length > 100);
    const script = join(work, "import-all.mjs");
    writeFileSync(
      script,
      `for (const m of ${JSON.stringify(modules)}) await import(m);\nconsole.log("loaded", ${modules.length});\n`,
    );
    const result = await runPeer(process.execPath, [script], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`loaded ${modules.length}`));
  });

  it("runs the sidecar: allows, denies and counts a real MCP client's calls", async () => {
    kestra = await startKestraDouble({ answers: "json" });
    const [port, adminPort] = [await freePort(), await freePort()];
    const policy = join(work, "policy.yaml");
    writeFileSync(
      policy,
      "apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: kestra, namespace: agents}\nspec:\n  identity: {anonymous: true}\n  default: deny\n  tools: [{name: list_namespaces}]\n",
    );
    // The injector's way: subcommand as args, everything else from MCP_WARDEN_* variables.
    const sidecar = startPeer(process.execPath, [...IMAGE_NODE_FLAGS, join(app, "cli", "mcp-warden.js"), "sidecar"], {
      env: {
        NODE_ENV: "production",
        MCP_WARDEN_POLICY: policy,
        MCP_WARDEN_UPSTREAM: kestra.url,
        MCP_WARDEN_LISTEN: `127.0.0.1:${port}`,
        MCP_WARDEN_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      },
    });
    peers.push(sidecar);
    await sidecar.waitFor(/"msg":"sidecar started"/);
    const url = `http://127.0.0.1:${port}/mcp`;
    const session = await rawInitialize(url);
    const headers = { "mcp-session-id": session };
    const list = await rawPost(url, { jsonrpc: "2.0", id: 1, method: "tools/list" }, headers);
    assert.match(list.text, /"list_namespaces"/);
    const allowed = await rawPost(url, toolCall(2, "list_namespaces", {}), headers);
    assert.equal(allowed.status, 200);
    assert.doesNotMatch(allowed.text, /POLICY DENIED/);
    const denied = await rawPost(
      url,
      toolCall(3, "delete_flow_logs", { namespace: "company.team", flow_id: "x" }),
      headers,
    );
    assert.match(denied.text, /\[POLICY DENIED\]/);
    assert.deepEqual(
      kestra.calls.map((c) => c.tool),
      ["list_namespaces"],
      "the denied call never reached the server",
    );
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    assert.match(
      metrics,
      /^mcp_warden_tool_calls_total\{policy="agents\/kestra",tool="delete_flow_logs",decision="denied",reason="default_deny",mode="Enforce"\} 1$/m,
    );
    assert.match(
      metrics,
      /^mcp_warden_tool_calls_total\{policy="agents\/kestra",tool="list_namespaces",decision="allowed",reason="rule_allowed",mode="Enforce"\} 1$/m,
    );
  });
});
