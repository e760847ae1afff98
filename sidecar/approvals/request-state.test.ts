import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { RequestStateSigner } from "./request-state.ts";

const binding = { policy: "kestra", grant: "apikey:alice", tool: "deploy", args: { env: "prod", n: 1 } };

test("a state is good once, for its binding, until it expires", () => {
  const clock = { now: 1_000_000 };
  const signer = new RequestStateSigner(Buffer.alloc(32, 7), () => clock.now);
  const state = signer.sign(binding, 60_000);
  // Key order of the arguments does not matter (RFC 8785 digest); their values do.
  assert.equal(signer.redeem(state, { ...binding, args: { n: 1, env: "prod" } }).ok, true);
  assert.deepEqual(signer.redeem(state, binding), { ok: false, problem: "it has already been used" });
  const late = signer.sign(binding, 60_000);
  clock.now += 60_000;
  assert.deepEqual(signer.redeem(late, binding), { ok: false, problem: "it has expired" });
});

test("another key, another policy or tool, a malformed or foreign state are refused", () => {
  const a = new RequestStateSigner(Buffer.alloc(32, 1));
  const b = new RequestStateSigner(Buffer.alloc(32, 2));
  const state = a.sign(binding, 60_000);
  assert.equal(b.redeem(state, binding).ok, false);
  assert.match(JSON.stringify(a.redeem(state, { ...binding, policy: "other" })), /another caller or policy/);
  assert.match(JSON.stringify(a.redeem(state, { ...binding, tool: "wipe" })), /issued for tool 'deploy'/);
  assert.match(JSON.stringify(a.redeem("mcpwarden1.abc", binding)), /malformed/);
  assert.match(JSON.stringify(a.redeem("upstream-state", binding)), /not this sidecar's/);
});

test("replicas sharing the key file accept each other's states; a short key is refused", () => {
  const dir = mkdtempSync(join(tmpdir(), "mcp-warden-key-"));
  writeFileSync(join(dir, "key"), Buffer.alloc(48, 9));
  const [one, two] = [RequestStateSigner.fromFile(join(dir, "key")), RequestStateSigner.fromFile(join(dir, "key"))];
  assert.equal(two.redeem(one.sign(binding, 60_000), binding).ok, true);
  writeFileSync(join(dir, "short"), "too short");
  assert.throws(() => RequestStateSigner.fromFile(join(dir, "short")), /at least 32 bytes/);
});

test("a state bound to an McpApproval carries its name under the signature; verify leaves single use to it", () => {
  const signer = new RequestStateSigner(Buffer.alloc(32, 3));
  const state = signer.sign(binding, 60_000, "deploy-x7k2q");
  const first = signer.verify(state, binding);
  assert.equal(first.ok && first.approval, "deploy-x7k2q");
  assert.equal(signer.verify(state, binding).ok, true, "verify does not use the state up: the McpApproval's use does");
  const [body, mac] = state.split(".").slice(1) as [string, string];
  const renamed = Buffer.from(
    JSON.stringify({ ...(JSON.parse(Buffer.from(body, "base64url").toString()) as object), a: "deploy-other" }),
  ).toString("base64url");
  assert.deepEqual(signer.verify(`mcpwarden1.${renamed}.${mac}`, binding), {
    ok: false,
    problem: "its signature does not verify",
  });
  const unbound = signer.redeem(signer.sign(binding, 60_000), binding);
  assert.equal(unbound.ok && unbound.approval, undefined);
});
