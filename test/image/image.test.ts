// The container image, without a Docker engine: the Dockerfile and .dockerignore are parsed and
// checked, then the image's /app is rebuilt the way `docker build` would (the ignore rules applied to
// the repository, the final stage's COPY lines, the dependencies stage's own `npm ci --omit=dev`), and
// the ENTRYPOINT is run from it: the subcommands the chart and the injector use start, every runtime
// module loads with production dependencies only, and the sidecar enforces a real call.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
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

const root = join(import.meta.dirname, "..", "..");
const dockerfile = parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8"));
const inContext = dockerignore(readFileSync(join(root, ".dockerignore"), "utf8"));
const runtime = dockerfile.stages.at(-1) as Stage;
const entrypoint = runtime.instructions.find((i) => i.name === "ENTRYPOINT")?.exec ?? [];
/** Directories of the repository the final stage copies (COPY <dir> ./<dir>). */
const copiedSources = runtime.instructions.filter((i) => i.name === "COPY" && !i.flags.from).map((i) => i.words[0] as string);
const repositoryFiles = () => execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" }).split("\n").filter(Boolean);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("Dockerfile", () => {
  it("is multi-stage: production dependencies installed apart, a Node 24 runtime without a shell", () => {
    assert.ok(dockerfile.stages.length >= 2);
    const dependencies = dockerfile.stages.find((s) => s.name === "dependencies") as Stage;
    assert.match(dependencies.image, /node:24-/);
    const install = dependencies.instructions.find((i) => i.name === "RUN" && /npm ci/.test(i.raw));
    assert.match(install?.raw ?? "", /npm ci --omit=dev --ignore-scripts/);
    assert.equal(runtime.image, "gcr.io/distroless/nodejs24-debian12:nonroot");
    assert.deepEqual(runtime.instructions.find((i) => i.name === "COPY" && i.flags.from)?.flags, { from: "dependencies" });
  });

  it("runs as the numeric non-root user the chart and the injector set", async () => {
    assert.deepEqual(runtime.instructions.filter((i) => i.name === "USER").map((i) => i.raw), [`${SIDECAR_UID}:${SIDECAR_UID}`]);
    const deployment = get<V1Deployment>(await renderChart(), "Deployment");
    assert.equal(deployment.spec?.template.spec?.securityContext?.runAsUser, SIDECAR_UID);
  });

  it("has an exec-form ENTRYPOINT: Node running cli/mcp-warden.ts from /app", () => {
    assert.deepEqual(entrypoint, ["/nodejs/bin/node", "/app/cli/mcp-warden.ts"]);
    assert.equal(runtime.instructions.find((i) => i.name === "WORKDIR")?.raw, "/app");
    assert.equal(runtime.instructions.find((i) => i.name === "CMD"), undefined, "the chart and the injector give the subcommand as args");
  });
});

describe(".dockerignore", () => {
  it("sends the runtime sources and the lockfile, and no tests, fixtures, node_modules or clone metadata", () => {
    for (const path of ["package.json", "package-lock.json", "cli/main.ts", "sidecar/sidecar.ts", "operator/operator.ts", "kube/informer.ts", "policy/ratelimit/redis-sliding-window.lua"]) {
      assert.ok(inContext(path), `${path} must be in the context`);
    }
    for (const path of ["node_modules/yaml/package.json", ".git/HEAD", "test/cluster/harness.ts", "charts/mcp-warden/Chart.yaml", "docs/operator.md", "bench/README.md",
      "cli/main.test.ts", "operator/injector/testdata/hostnetwork.yaml", "cli/testing.ts", "policy/testing.ts", "policy/catalog/testing.ts", "Dockerfile"]) {
      assert.ok(!inContext(path), `${path} must not be in the context`);
    }
  });

  it("leaves out exactly the test files of the copied directories", () => {
    for (const file of repositoryFiles()) {
      const copied = copiedSources.some((source) => file === source || file.startsWith(`${source}/`));
      const testOnly = /\.test\.ts$|\/testdata\/|(^|\/)testing\.ts$/.test(file);
      assert.equal(inContext(file), file === "package-lock.json" || (copied && !testOnly), file);
    }
  });
});

describe("the image's /app, built without Docker", { timeout: 240_000 }, () => {
  let work: string;
  let app: string;
  const peers: Peer[] = [];
  let kestra: KestraDouble | undefined;
  /** Runs the ENTRYPOINT with the given args, /nodejs/bin/node being this Node and /app the rebuilt tree. */
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runPeer(process.execPath, [join(app, relative("/app", entrypoint[1] as string)), ...args], { env: { ...env, NODE_ENV: "production" }, timeoutMs: 60_000 });

  before(() => {
    work = mkdtempSync(join(tmpdir(), "mcp-warden-image-"));
    app = join(work, "app");
    // The dependencies stage: its COPY lines into its WORKDIR, then its npm ci (without the cache
    // clean-up, which would empty this machine's npm cache; --prefer-offline only uses that cache).
    const dependencies = dockerfile.stages.find((s) => s.name === "dependencies") as Stage;
    const depsDir = join(work, "dependencies");
    mkdirSync(depsDir);
    for (const copy of dependencies.instructions.filter((i) => i.name === "COPY")) {
      for (const file of copy.words.slice(0, -1)) {
        assert.ok(inContext(file), `${file} is not in the build context`);
        cpSync(join(root, file), join(depsDir, file));
      }
    }
    const npmCi = (dependencies.instructions.find((i) => i.name === "RUN")?.raw ?? "").split("&&")[0]?.trim().split(/\s+/) ?? [];
    assert.deepEqual(npmCi.slice(0, 2), ["npm", "ci"]);
    const npm = execFileSync("npm", [...npmCi.slice(1), "--prefer-offline"], { cwd: depsDir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 });
    assert.match(npm, /added \d+ packages/);
    // The final stage's COPY lines, from the context (ignore rules applied) or the dependencies stage.
    mkdirSync(app);
    const files = repositoryFiles().filter(inContext);
    for (const copy of runtime.instructions.filter((i) => i.name === "COPY")) {
      const [source, destination] = copy.words as [string, string];
      const target = join(app, destination);
      if (copy.flags.from === "dependencies") {
        cpSync(join(depsDir, relative("/app", source)), target, { recursive: true });
        continue;
      }
      for (const file of files.filter((f) => f === source || f.startsWith(`${source}/`))) {
        const into = file === source ? (destination.endsWith("/") ? join(target, file) : target) : join(target, relative(source, file));
        mkdirSync(dirname(into), { recursive: true });
        cpSync(join(root, file), into);
      }
    }
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await kestra?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("holds production dependencies only", () => {
    const modules = readdirSync(join(app, "node_modules"));
    for (const dev of ["typescript", "eslint", "fast-check", "node", "@modelcontextprotocol"]) {
      if (dev === "@modelcontextprotocol") assert.deepEqual(readdirSync(join(app, "node_modules", dev)), ["sdk"], "the SDK only, not the test peers");
      else assert.ok(!modules.includes(dev), `${dev} is a development dependency`);
    }
    assert.ok(!readdirSync(join(app, "cli")).some((f) => f.endsWith(".test.ts")));
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
    const operator = await run([...operatorArgs, "--kubeconfig", join(work, "no-such-kubeconfig")], { POD_NAMESPACE: "mcp-warden" });
    assert.equal(operator.code, 1, `exit 2 would be a usage error: ${operator.stderr}`);
    assert.match(operator.stderr, /^mcp-warden operator: .*no-such-kubeconfig/);
  });

  it("loads every runtime module, including those imported on demand, with production dependencies only", async () => {
    // All but the entrypoints themselves, which would run the command line.
    const entrypoints = ["cli/mcp-warden.ts", "cli/kubectl-plugin.ts"];
    const modules = repositoryFiles().filter((f) => inContext(f) && f.endsWith(".ts") && !entrypoints.includes(f)).map((f) => join(app, f));
    assert.ok(modules.length > 100);
    const script = join(work, "import-all.mjs");
    writeFileSync(script, `for (const m of ${JSON.stringify(modules)}) await import(m);\nconsole.log("loaded", ${modules.length});\n`);
    const result = await runPeer(process.execPath, [script], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`loaded ${modules.length}`));
  });

  it("runs the sidecar: allows, denies and counts a real MCP client's calls", async () => {
    kestra = await startKestraDouble({ answers: "json" });
    const [port, adminPort] = [await freePort(), await freePort()];
    const policy = join(work, "policy.yaml");
    writeFileSync(policy, "apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: kestra, namespace: agents}\nspec:\n  identity: {anonymous: true}\n  default: deny\n  tools: [{name: list_namespaces}]\n");
    // The injector's way: subcommand as args, everything else from MCP_WARDEN_* variables.
    const sidecar = startPeer(process.execPath, [join(app, "cli", "mcp-warden.ts"), "sidecar"], {
      env: { NODE_ENV: "production", MCP_WARDEN_POLICY: policy, MCP_WARDEN_UPSTREAM: kestra.url, MCP_WARDEN_LISTEN: `127.0.0.1:${port}`, MCP_WARDEN_ADMIN_LISTEN: `127.0.0.1:${adminPort}` },
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
    const denied = await rawPost(url, toolCall(3, "delete_flow_logs", { namespace: "company.team", flow_id: "x" }), headers);
    assert.match(denied.text, /\[POLICY DENIED\]/);
    assert.deepEqual(kestra.calls.map((c) => c.tool), ["list_namespaces"], "the denied call never reached the server");
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    assert.match(metrics, /^mcp_warden_tool_calls_total\{policy="agents\/kestra",tool="delete_flow_logs",decision="denied",reason="default_deny",mode="Enforce"\} 1$/m);
    assert.match(metrics, /^mcp_warden_tool_calls_total\{policy="agents\/kestra",tool="list_namespaces",decision="allowed",reason="rule_allowed",mode="Enforce"\} 1$/m);
  });
});
