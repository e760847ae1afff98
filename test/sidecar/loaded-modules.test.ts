// What a sidecar process loads for the policy it runs (ADR 0940): with a policy file that only names
// tools and the memory rate-limit store, none of CEL (and protobuf and RE2 behind it), Ajv for the
// policy's schemas, the Kubernetes client, Redis or OpenTelemetry is loaded, neither at start nor
// after a tool call went through. A policy with a `require` expression and an argument schema does
// load CEL and Ajv, so the recorder sees the libraries when a policy uses them. Each process records
// every module file it resolves (test/support/loaded-modules.ts).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { moduleRecorder, type ModuleRecorder } from "../support/loaded-modules.ts";
import { messagesOf, rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { KEYS } from "../support/sidecar-harness.ts";
import { sidecarFiles, startSidecarProcess, type SidecarProcess } from "../support/sidecar-process.ts";
import { startKestraDouble, type KestraDouble } from "../upstreams/kestra-double.ts";

const NAMES_ONLY = mcpPolicy(
  "default: deny\ntools:\n  - name: list_namespaces\n  - name: delete_flow\n    action: deny",
);
const WITH_EXPRESSIONS = mcpPolicy(
  'default: deny\ntools:\n  - name: list_namespaces\n    require: ["tool == \'list_namespaces\'"]\n    arguments: {type: object, properties: {prefix: {type: string, pattern: "^[a-z]*$"}}}',
);

/** Packages no names-only policy needs, with the files of them that policy features load. */
const NOT_FOR_NAMES: readonly {
  what: string;
  loaded: (files: readonly string[], packages: ReadonlySet<string>) => boolean;
}[] = [
  { what: "@bufbuild/cel", loaded: (_, p) => p.has("@bufbuild/cel") },
  { what: "@bufbuild/protobuf", loaded: (_, p) => p.has("@bufbuild/protobuf") },
  { what: "@bufbuild/re2", loaded: (_, p) => p.has("@bufbuild/re2") },
  { what: "re2js", loaded: (_, p) => p.has("re2js") },
  // Ajv's 2019-09 and 2020-12 validators are the policy's (`arguments`, declared schemas under
  // `arguments: strict`). Other parts of Ajv load whatever the policy: fastify's schema compiler
  // (JTD) and the MCP SDK client that lists the upstream's tools (draft-07 and ajv-formats).
  {
    what: "Ajv's 2019-09 and 2020-12 validators",
    loaded: (files) => files.some((f) => /\/node_modules\/ajv\/dist\/(2019|2020)\.js$/.test(f)),
  },
  { what: "@kubernetes/client-node", loaded: (_, p) => p.has("@kubernetes/client-node") },
  { what: "ioredis", loaded: (_, p) => p.has("ioredis") },
  { what: "@opentelemetry/*", loaded: (_, p) => [...p].some((name) => name.startsWith("@opentelemetry/")) },
];

interface Run {
  recorder: ModuleRecorder;
  sidecar: SidecarProcess;
}

async function startRecorded(policy: string, upstream: string): Promise<Run & { policyFile: string }> {
  const recorder = moduleRecorder();
  const files = sidecarFiles(policy);
  const sidecar = await startSidecarProcess({
    policy: files.policy,
    apiKeys: files.apiKeys,
    upstream,
    nodeArgs: recorder.nodeArgs,
  });
  return { recorder, sidecar, policyFile: files.policy };
}

/** One allowed call of list_namespaces through the sidecar, answered by the upstream. */
async function callListNamespaces(sidecar: SidecarProcess): Promise<void> {
  const auth = { authorization: `Bearer ${KEYS.alice}` };
  const session = await rawInitialize(sidecar.url, auth);
  const answer = await rawPost(sidecar.url, toolCall(1, "list_namespaces", {}), {
    ...auth,
    "mcp-session-id": session,
    "mcp-protocol-version": "2025-03-26",
  });
  const [message] = messagesOf(answer);
  assert.equal(
    (message?.result as { isError?: boolean } | undefined)?.isError ?? false,
    false,
    `list_namespaces was not answered: ${answer.text}`,
  );
}

function loadedOf(run: Run): string[] {
  const files = run.recorder.files();
  const packages = run.recorder.packages();
  return NOT_FOR_NAMES.filter((p) => p.loaded(files, packages)).map((p) => p.what);
}

describe("modules a sidecar loads for its policy", { timeout: 120_000 }, () => {
  let upstream: KestraDouble;
  const runs: Run[] = [];

  before(async () => {
    upstream = await startKestraDouble();
  });
  after(async () => {
    await Promise.all(runs.map((r) => r.sidecar.stop()));
    await upstream.close();
  });

  it("a names-only policy from a file with the memory store loads no CEL, Ajv validators, Kubernetes client, Redis or OpenTelemetry, before and after a call", async () => {
    const run = await startRecorded(NAMES_ONLY, upstream.url);
    runs.push(run);
    assert.ok(run.recorder.files().length > 0, "the recorder saw no module at all");
    assert.deepEqual(loadedOf(run), [], "loaded at start");
    await callListNamespaces(run.sidecar);
    assert.deepEqual(loadedOf(run), [], "loaded once a call went through");
  });

  it("a policy with an expression and an argument schema loads CEL and Ajv", async () => {
    const run = await startRecorded(WITH_EXPRESSIONS, upstream.url);
    runs.push(run);
    await callListNamespaces(run.sidecar);
    const loaded = loadedOf(run);
    for (const what of ["@bufbuild/cel", "@bufbuild/protobuf", "@bufbuild/re2", "Ajv's 2019-09 and 2020-12 validators"])
      assert.ok(loaded.includes(what), `${what} not loaded: ${loaded.join(", ")}`);
  });

  it("a running names-only sidecar whose policy file gains an expression and an argument schema decides with them", async () => {
    const run = await startRecorded(NAMES_ONLY, upstream.url);
    runs.push(run);
    await callListNamespaces(run.sidecar);
    assert.deepEqual(loadedOf(run), [], "loaded before the change");
    const changed = mcpPolicy(
      'default: deny\ntools:\n  - name: list_namespaces\n    require: ["!has(args.prefix) || args.prefix != \'blocked\'"]\n    arguments: {type: object, properties: {prefix: {type: string, pattern: "^[a-z]*$", format: "hostname"}}}',
      "kestra",
      { generation: 2 },
    );
    writeFileSync(run.policyFile, changed);
    await eventually(
      async () => (await run.sidecar.metric("mcp_warden_policy_info", { version: "2" })) === 1,
      "policy generation 2",
    );
    const auth = { authorization: `Bearer ${KEYS.alice}` };
    const session = await rawInitialize(run.sidecar.url, auth);
    const headers = { ...auth, "mcp-session-id": session, "mcp-protocol-version": "2025-03-26" };
    const reached = () => upstream.calls.filter((c) => c.tool === "list_namespaces").length;
    const before = reached();
    for (const [i, prefix] of ["blocked", "UPPER", "a.b"].entries()) {
      const answer = await rawPost(run.sidecar.url, toolCall(10 + i, "list_namespaces", { prefix }), headers);
      const text = JSON.stringify(messagesOf(answer)[0]);
      assert.match(text, /POLICY DENIED|Invalid params|must/, `${prefix}: ${text}`);
    }
    assert.equal(reached(), before, "a call the new policy refuses reached the upstream");
    const allowed = await rawPost(run.sidecar.url, toolCall(20, "list_namespaces", {}), headers);
    assert.equal(
      (messagesOf(allowed)[0]?.result as { isError?: boolean } | undefined)?.isError ?? false,
      false,
      allowed.text,
    );
    assert.equal(reached(), before + 1);
    const loaded = loadedOf(run);
    for (const what of ["@bufbuild/cel", "Ajv's 2019-09 and 2020-12 validators"])
      assert.ok(loaded.includes(what), `${what} not loaded: ${loaded.join(", ")}`);
  });

  it("a policy whose library cannot be loaded is rejected like an invalid one: counted, logged, the previous policy kept; the next change loads it", async () => {
    const blocked = unloadable("@bufbuild/cel");
    const files = sidecarFiles(NAMES_ONLY);
    const sidecar = await startSidecarProcess({
      policy: files.policy,
      apiKeys: files.apiKeys,
      upstream: upstream.url,
      nodeArgs: blocked.nodeArgs,
    });
    runs.push({ recorder: moduleRecorder(), sidecar });
    const withRequire = (generation: number) =>
      mcpPolicy("default: deny\ntools:\n  - name: delete_flow\n    require: [\"tool == 'nothing'\"]", "kestra", {
        generation,
      });
    writeFileSync(files.policy, withRequire(2));
    await eventually(
      async () => (await sidecar.metric("mcp_warden_policy_reloads_total", { result: "invalid" })) === 1,
      "the reload counted as invalid",
    );
    assert.equal(
      await sidecar.metric("mcp_warden_policy_info", { version: "1" }),
      1,
      "the previous policy stays in force",
    );
    const rejected = await sidecar.waitForLog(
      (l) => l.msg === "invalid policy rejected; the previous policy stays in force",
      "the rejection",
    );
    assert.match(JSON.stringify(rejected.problems), /@bufbuild\/cel/);
    await callListNamespaces(sidecar);
    blocked.unblock();
    writeFileSync(files.policy, withRequire(3));
    await eventually(
      async () => (await sidecar.metric("mcp_warden_policy_info", { version: "3" })) === 1,
      "generation 3 once CEL can be loaded",
    );
  });

  it("a policy whose Redis client cannot be loaded is rejected like an invalid one, the previous policy and its store kept", async () => {
    const blocked = unloadable("ioredis");
    const files = sidecarFiles(NAMES_ONLY);
    const sidecar = await startSidecarProcess({
      policy: files.policy,
      apiKeys: files.apiKeys,
      upstream: upstream.url,
      nodeArgs: blocked.nodeArgs,
    });
    runs.push({ recorder: moduleRecorder(), sidecar });
    writeFileSync(
      files.policy,
      mcpPolicy(
        "default: deny\nrateLimit: {store: redis, redis: {url: 'redis://127.0.0.1:1'}}\ntools:\n  - name: list_namespaces",
        "kestra",
        { generation: 2 },
      ),
    );
    await eventually(
      async () => (await sidecar.metric("mcp_warden_policy_reloads_total", { result: "invalid" })) === 1,
      "the reload counted as invalid",
    );
    assert.equal(
      await sidecar.metric("mcp_warden_policy_info", { version: "1" }),
      1,
      "the previous policy stays in force",
    );
    const rejected = await sidecar.waitForLog(
      (l) => l.msg === "invalid policy rejected; the previous policy stays in force",
      "the rejection",
    );
    assert.match(JSON.stringify(rejected.problems), /ioredis/);
    await callListNamespaces(sidecar);
  });
});

/** Node flags under which `specifier` cannot be resolved (a missing package, a process out of file descriptors) until `unblock`. */
function unloadable(specifier: string): { nodeArgs: string[]; unblock: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-unloadable-"));
  const blocked = join(dir, "blocked");
  const hook = join(dir, "block.mjs");
  writeFileSync(blocked, "");
  writeFileSync(
    hook,
    `import { existsSync } from "node:fs";\nimport { registerHooks } from "node:module";\nregisterHooks({ resolve(specifier, context, next) {\n  if (specifier === ${JSON.stringify(specifier)} && existsSync(${JSON.stringify(blocked)})) throw new Error("Cannot find module '${specifier}'");\n  return next(specifier, context);\n} });\n`,
  );
  return { nodeArgs: ["--import", hook], unblock: () => rmSync(blocked) };
}
