import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { compilePolicy } from "../policy/compile.ts";
import { decideToolCall } from "../policy/decide.ts";
import { parsePolicyText } from "../policy/load.ts";
import { SlidingWindowMemoryStore } from "../policy/ratelimit/memory-store.ts";
import { call, caller } from "../policy/testing.ts";
import { definitionDigest } from "../policy/pins/definition-digest.ts";
import { examples, runCli, tempFile } from "./testing.ts";

test("policy init prints commented McpPolicies that lint clean, for every level", async () => {
  for (const level of ["strict", "balanced", "read-only"]) {
    const init = await runCli(
      "policy",
      "init",
      "--server",
      "kestra",
      "--level",
      level,
      "--name",
      "kestra",
      "--namespace",
      "agents",
    );
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, new RegExp(`^# McpPolicy for the Kestra MCP server, level ${level}`));
    assert.match(init.stdout, /# Resume paused executions \[resume: execute\]/);
    assert.match(
      init.stdout,
      /^# arguments: strict: each call's arguments must match the inputSchema the server declares/m,
    );
    assert.equal(parsePolicyText(init.stdout, level).spec.arguments, "strict");
    const lint = await runCli("policy", "lint", await tempFile(`${level}.yaml`, init.stdout));
    assert.equal(lint.code, 0, lint.stderr);
    assert.equal(lint.stderr, "", "no warnings");
  }
  const bad = await runCli("policy", "init", "--server", "github");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--server must be kestra/);
});

test("policy init says how agents authenticate: service-account tokens by default, or API keys in a Secret", async () => {
  const tokens = await runCli("policy", "init", "--server", "kestra", "--name", "kestra");
  assert.match(
    tokens.stdout,
    /^# Agents authenticate with service-account tokens minted for the audience mcp-warden;/m,
  );
  assert.deepEqual(parsePolicyText(tokens.stdout, "t").spec.identity, {
    anonymous: false,
    kubernetes: { audiences: ["mcp-warden"] },
  });
  const keys = await runCli("policy", "init", "--server", "kestra", "--name", "ops-kestra", "--identity", "api-keys");
  assert.match(keys.stdout, /^# Agents authenticate with API keys: Secret ops-kestra-api-keys, key grants,/m);
  assert.deepEqual(parsePolicyText(keys.stdout, "k").spec.identity?.apiKeys, {
    secretRef: { name: "ops-kestra-api-keys", key: "grants" },
  });
  const bad = await runCli("policy", "init", "--server", "kestra", "--identity", "oidc");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--identity must be one of kubernetes, api-keys/);
});

test("policy test and explain check arguments: strict against a saved tools/list (--tools)", async () => {
  const tools = new URL("../test/fixtures/kestra-tools-list.json", import.meta.url).pathname;
  const policy = join(examples, "kestra", "mcppolicy.yaml");
  const cases = await tempFile(
    "cases.yaml",
    `cases:
  - name: a flag only the declared schema rules on
    tool: execute_flow
    args: {namespace: company.team, flow_id: nightly-etl, wait: 1}
    expect: {decision: denied, reason: input_schema_mismatch, rule: /spec/arguments, messageContains: "argument wait must be a boolean, not the number 1"}
  - name: a call as declared
    tool: list_executions
    args: {namespace: company.team}
    expect: allowed
`,
  );
  const strict = await runCli("policy", "test", policy, "--cases", cases, "--tools", tools);
  assert.equal(strict.code, 0, strict.stdout + strict.stderr);
  assert.match(strict.stdout, /2 passed, 0 failed/);
  const offline = await runCli("policy", "test", policy, "--cases", cases);
  assert.equal(offline.code, 1, "without the declared schemas only the rules run: wait: 1 passes them");
  assert.match(offline.stdout, /✗ a flag only the declared schema rules on/);

  const explained = await runCli(
    "policy",
    "explain",
    policy,
    "--tool",
    "generate_flow",
    "--args",
    '{"user_prompt":"p","auto_create":"yes"}',
    "--tools",
    tools,
    "--json",
  );
  assert.equal(explained.code, 0, explained.stderr);
  assert.deepEqual((JSON.parse(explained.stdout) as { reason: string; rule: string }).reason, "input_schema_mismatch");
  const missing = await runCli(
    "policy",
    "explain",
    policy,
    "--tool",
    "generate_flow",
    "--tools",
    join(examples, "kestra", "cases.yaml"),
  );
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^mcp-warden: --tools \S*cases\.yaml: /m, "a file that is not JSON is a usage error");
});

test("policy import: the McpPolicy decides exactly like the PolicyLayer document", async () => {
  const source = JSON.stringify({
    version: "1",
    default: "deny",
    hide: ["force_run_execution"],
    all_tools: { limits: [{ counter: "calls-per-minute", window: "minute", max: 6, scope: "grant" }] },
    tools: {
      resume_execution: { limits: [{ counter: "resume_execution_rate", window: "minute", max: 3, scope: "grant" }] },
      manage_kv_store: {
        require: [{ path: "args.namespace", op: "regex", value: "^dev\\." }],
        deny_if: [{ path: "args.action", op: "in", value: ["set", "delete"] }],
        on_deny: "Only reads of dev namespaces.",
      },
      execute_flow: {
        deny_if: [{ path: "args.inputs.size", op: "gt", value: 100 }, "has(args.wait) && args.wait == true"],
      },
      delete_flow_logs: { action: "deny", reason: "Never." },
    },
  });
  const original = await tempFile("kestra.json", source);
  const imported = await runCli("policy", "import", original, "--name", "kestra", "--namespace", "agents");
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /kind: McpPolicy/);
  assert.ok(
    imported.stdout.includes(`- '"namespace" in args && args["namespace"].matches("^dev\\\\.")'`),
    imported.stdout,
  );
  assert.ok(
    imported.stdout.includes("- has(args.inputs) && has(args.inputs.size) && args.inputs.size > 100\n"),
    imported.stdout,
  );

  const a = compilePolicy(parsePolicyText(source, "kestra"));
  const b = compilePolicy(parsePolicyText(imported.stdout, "kestra"));
  const storeA = new SlidingWindowMemoryStore({ now: () => 0 });
  const storeB = new SlidingWindowMemoryStore({ now: () => 0 });
  const table = [
    ...Array.from({ length: 5 }, () => call("resume_execution", {})),
    call("resume_execution", {}, caller("bob")),
    call("force_run_execution", { execution_id: "e" }),
    call("manage_kv_store", { namespace: "dev.a", action: "get", key: "k" }),
    call("manage_kv_store", { namespace: "prod.a", action: "get", key: "k" }),
    call("manage_kv_store", { namespace: "dev.a", action: "delete", key: "k" }),
    call("manage_kv_store", { action: "get" }),
    call("execute_flow", { namespace: "n", flow_id: "f", inputs: { size: 101 } }),
    call("execute_flow", { namespace: "n", flow_id: "f", wait: true }),
    call("execute_flow", { namespace: "n", flow_id: "f" }),
    call("delete_flow_logs", { namespace: "n", flow_id: "f" }),
    call("list_flows", {}),
    ...Array.from({ length: 4 }, () => call("execute_flow", { namespace: "n", flow_id: "f" }, caller("carol"))),
  ];
  const summaries: string[] = [];
  for (const c of table) {
    const [x, y] = [await decideToolCall(a, c, storeA), await decideToolCall(b, c, storeB)];
    // Messages name the policy: "kestra" for the document, "agents/kestra" for the resource.
    const message = y.message.replace("policy 'agents/kestra'", "policy 'kestra'");
    assert.deepEqual(
      [y.decision, y.reason, message, y.retryAfterSeconds],
      [x.decision, x.reason, x.message, x.retryAfterSeconds],
      `${c.tool} ${JSON.stringify(c.args)}`,
    );
    summaries.push(`${c.tool}:${x.decision}`);
  }
  for (const decision of ["allowed", "denied", "rate_limited"])
    assert.ok(
      summaries.some((s) => s.endsWith(decision)),
      `the table exercises ${decision}`,
    );

  const notPolicyLayer = await runCli("policy", "import", await tempFile("p.yaml", imported.stdout), "--name", "x");
  assert.equal(notPolicyLayer.code, 1);
  assert.match(notPolicyLayer.stderr, /already an McpPolicy/);
  const invalid = await runCli(
    "policy",
    "import",
    await tempFile("bad.json", '{"version":"1","tools":{"a":{"deny_if":["arg.x"]}}}'),
    "--name",
    "x",
  );
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /tools\.a\.deny_if\[0\]: undeclared reference 'arg'/);
});

const cases = `
cases:
  - name: reads are allowed
    tool: list_flows_in_namespace
    args: {namespace: company.team}
    expect: allowed
  - name: deletes are denied with their rule
    tool: delete_flow_logs
    args: {namespace: n, flow_id: f}
    expect: {decision: denied, reason: tool_denied, rule: /spec/tools/29, messageContains: never allowed}
  - name: resume is capped at 10 per minute per grant
    caller: ci-bot
    sequence:
      - {tool: resume_execution, args: {execution_ids: [e1]}, repeat: 10, expect: allowed}
      - {tool: resume_execution, args: {execution_ids: [e1]}, expect: {decision: rate_limited, rule: /spec/tools/37/limits/0}}
      - {tool: resume_execution, args: {execution_ids: [e1]}, caller: other-bot, expect: allowed}
      - advance: 60s
      - {tool: resume_execution, args: {execution_ids: [e1]}, expect: allowed}
`;

test("policy test: table-driven cases pass, and a mismatch fails with a readable diff", async () => {
  const policy = await tempFile(
    "kestra.yaml",
    (await runCli("policy", "init", "--server", "kestra", "--level", "balanced")).stdout,
  );
  const passing = await runCli("policy", "test", policy, "--cases", await tempFile("cases.yaml", cases));
  assert.equal(passing.code, 0, passing.stdout + passing.stderr);
  assert.match(passing.stdout, /✓ resume is capped at 10 per minute per grant\n/);
  assert.match(passing.stdout, /3 passed, 0 failed/);

  const wrong = cases.replace("repeat: 10, expect: allowed", "repeat: 11, expect: allowed");
  const failing = await runCli("policy", "test", policy, "--cases", await tempFile("cases.yaml", wrong));
  assert.equal(failing.code, 1);
  assert.match(
    failing.stdout,
    /✗ resume is capped at 10 per minute per grant\n {6}step 1, call 11: decision\n {8}expected: allowed\n {8}actual: {3}rate_limited\n/,
  );
  assert.match(failing.stdout, /2 passed, 1 failed/);

  const malformed = await runCli(
    "policy",
    "test",
    policy,
    "--cases",
    await tempFile("cases.yaml", "cases:\n  - name: x\n    tool: y\n"),
  );
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /cases\.yaml: cases\.0/);
});

test("the example policies in the repository lint clean", async () => {
  const result = await runCli(
    "policy",
    "lint",
    join(examples, "kestra-resume.policylayer.json"),
    join(examples, "kestra-restart.policylayer.json"),
  );
  assert.equal(result.code, 0, result.stderr);
  assert.ok(
    (await readFile(join(examples, "kestra-resume.policylayer.json"), "utf8")).includes("resume_execution_rate"),
  );
});

test("policy init --pin pins the catalogue's Kestra tool definitions", async () => {
  const init = await runCli(
    "policy",
    "init",
    "--server",
    "kestra",
    "--name",
    "kestra",
    "--namespace",
    "agents",
    "--pin",
  );
  assert.equal(init.code, 0, init.stderr);
  const pins = parsePolicyText(init.stdout, "pinned").spec.pins;
  const fixture = JSON.parse(
    await readFile(new URL("../test/fixtures/kestra-tools-list.json", import.meta.url), "utf8"),
  ) as { tools: { name: string }[] };
  assert.deepEqual(Object.keys(pins?.tools ?? {}).sort(), fixture.tools.map((t) => t.name).sort());
  assert.equal(pins?.tools?.list_namespaces, definitionDigest(fixture.tools.find((t) => t.name === "list_namespaces")));
  assert.deepEqual(
    { mode: pins?.mode, onDrift: pins?.onDrift, newTools: pins?.newTools },
    { mode: "Enforce", onDrift: "hide", newTools: "hide" },
  );
  assert.match(init.stdout, /^# spec\.pins: the 39 tool definitions of the catalogue, by digest;/m);
  const lint = await runCli("policy", "lint", await tempFile("pinned.yaml", init.stdout));
  assert.equal(lint.code, 0, lint.stderr);
  const plain = await runCli("policy", "init", "--server", "kestra");
  assert.equal(parsePolicyText(plain.stdout, "plain").spec.pins, undefined);
});

test("policy lint names a malformed pin and what a pin looks like", async () => {
  const file = await tempFile(
    "bad-pins.yaml",
    'apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: x, namespace: agents}\nspec:\n  pins:\n    tools: {send_mail: "abc"}\n',
  );
  const lint = await runCli("policy", "lint", file);
  assert.equal(lint.code, 1);
  assert.match(
    lint.stderr,
    /spec\.pins\.tools\.send_mail: must be sha256: followed by the 64 lower-case hex digits of the tool definition's digest/,
  );
});
