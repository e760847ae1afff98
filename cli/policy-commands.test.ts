import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { examples, runCli as run, tempFile as file } from "./testing.ts";

test("policy lint: exit 0 for valid documents of both formats", async () => {
  const mcp = await file(
    "kestra.yaml",
    "apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: kestra, namespace: agents}\nspec:\n  tools: [{name: list_flows}]\n",
  );
  const r = await run("policy", "lint", join(examples, "kestra-resume.policylayer.json"), mcp);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /kestra-resume\.policylayer\.json: ok \(PolicyLayer/);
  assert.match(r.stdout, /kestra\.yaml: ok \(McpPolicy agents\/kestra, 1 tool rules, default deny, mode Enforce\)/);
});

test("policy lint: argument schemas that could stall validation are errors naming the field", async () => {
  const bad = await file(
    "stall.yaml",
    "apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: kestra, namespace: agents}\nspec:\n  tools:\n" +
      "    - name: a\n    - name: b\n    - name: fetch\n      arguments:\n        type: object\n        properties:\n" +
      "          url: {type: string, pattern: '^(?!file:)'}\n          ids: {type: array, uniqueItems: true}\n",
  );
  const r = await run("policy", "lint", bad);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 2, r.stderr);
  assert.match(
    lines[0] ?? "",
    /stall\.yaml: spec\.tools\[2\]\.arguments\.properties\.url\.pattern: pattern "\^\(\?!file:\)" is not an RE2 regular expression/,
  );
  assert.match(
    lines[1] ?? "",
    /stall\.yaml: spec\.tools\[2\]\.arguments\.properties\.ids\.uniqueItems: uniqueItems needs items declared scalar/,
  );
});

test("policy lint: exit 1 with every error and its field path", async () => {
  const bad = await file(
    "bad.yaml",
    'apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: kestra, namespace: agents}\nspec:\n  tools:\n    - name: a\n      denyIf: ["arg.x == 1"]\n    - name: b\n      require: ["args.x.matches(\'[\')"]\n',
  );
  const r = await run("policy", "lint", bad);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `${bad}: spec.tools[0].denyIf[0]: undeclared reference 'arg' (known variables: args, tool, caller)\n` +
      `${bad}: spec.tools[1].require[0]: invalid regular expression '[': error parsing regexp: missing closing ]: \`[\`\n`,
  );
  const missing = await run("policy", "lint", "/nonexistent/policy.yaml");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read \/nonexistent\/policy\.yaml: ENOENT/);
});

test("policy explain prints the decision, reason, rule and limits", async () => {
  const policy = join(examples, "kestra-resume.policylayer.json");
  const allowed = await run("policy", "explain", policy, "--tool", "resume_execution", "--caller", "ci-bot");
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stdout, /^decision: allowed$/m);
  assert.match(allowed.stdout, /^rule:\s+\/tools\/resume_execution$/m);
  assert.match(
    allowed.stdout,
    /^limit:\s+resume_execution_rate: 10 calls per minute per caller \(\/tools\/resume_execution\/limits\/0\)$/m,
  );
  const denied = await run("policy", "explain", policy, "--tool", "delete_flow", "--json");
  const parsed = JSON.parse(denied.stdout) as Record<string, unknown>;
  assert.equal(parsed.decision, "denied");
  assert.equal(parsed.reason, "default_deny");
  assert.equal(parsed.rule, "(default deny)");
});

test("policy explain evaluates argument rules", async () => {
  const policy = await file(
    "p.yaml",
    "apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: p}\nspec:\n  tools:\n    - name: manage_kv_store\n      require: [\"args.action == 'get'\"]\n",
  );
  const r = await run("policy", "explain", policy, "--tool", "manage_kv_store", "--args", '{"action":"delete"}');
  assert.match(r.stdout, /^decision: denied$/m);
  assert.match(r.stdout, /^rule:\s+\/spec\/tools\/0\/require\/0$/m);
});

test("usage errors exit 2 with the usage", async () => {
  const noTool = await run("policy", "explain", join(examples, "kestra-resume.policylayer.json"));
  assert.equal(noTool.code, 2);
  assert.match(
    noTool.stderr,
    /needs exactly one of --tool NAME, --resource URI or --prompt NAME\nusage: mcp-warden policy explain/,
  );
  const badArgs = await run(
    "policy",
    "explain",
    join(examples, "kestra-resume.policylayer.json"),
    "--tool",
    "x",
    "--args",
    "{",
  );
  assert.equal(badArgs.code, 2);
  assert.match(badArgs.stderr, /--args is not valid JSON/);
  const unknown = await run("frobnicate");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /mcp-warden policy lint/);
});
