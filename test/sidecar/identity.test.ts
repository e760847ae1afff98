// Who the caller is: API-key grants (reloaded), JWTs verified against a real local issuer's JWKS, the
// 401 challenges and RFC 9728 metadata, anonymous callers, and the caller reaching CEL rules.
import assert from "node:assert/strict";
import { renameSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { SignJWT } from "jose";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { KEYS, startHarness, type Harness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";
import { startTestIssuer, type TestIssuer } from "../support/oidc-issuer.ts";
import { eventually } from "../support/eventually.ts";

const AUDIENCE = "https://mcp.agents.example/mcp";
const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
};
const unsigned = (claims: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
const writeWhole = (file: string, text: string) => {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
};

describe("API-key grants", () => {
  it("follow the grants file: new keys work, removed keys stop working, an invalid file changes nothing", async () => {
    const h = await startHarness({ policy: mcpPolicy("default: allow") });
    try {
      const ok = async (key: string) =>
        (await rawPost(h.sidecar.url, INIT, { authorization: `Bearer ${key}` })).status === 200;
      assert.equal(await ok(KEYS.alice), true);
      assert.equal(await ok("carol-key"), false);
      const file = `${h.dir}/api-keys`;
      writeWhole(file, `${grantLine("alice", KEYS.alice)}\n${grantLine("carol", "carol-key")}\n`);
      await eventually(() => ok("carol-key"), "carol's key to be accepted");
      assert.equal(await ok(KEYS.bob), false, "bob's grant was removed");
      writeWhole(file, "carol: carol-key\n");
      await eventually(
        () => h.logs.logLines.some((l) => l.msg === "invalid API-key file rejected; the previous grants stay in force"),
        "the rejection",
      );
      assert.equal(await ok("carol-key"), true);
    } finally {
      await h.close();
    }
  });

  it("make the grant the rate-limit budget and caller.grant in CEL", async () => {
    const h = await startHarness({
      policy: mcpPolicy(
        "default: deny\ntools:\n  - name: list_namespaces\n    require: [\"caller.grant == 'apikey:alice'\"]",
      ),
    });
    try {
      const alice = await h.client(KEYS.alice);
      const bob = await h.client(KEYS.bob);
      assert.equal(
        ((await alice.callTool({ name: "list_namespaces", arguments: {} })) as { isError?: boolean }).isError,
        undefined,
      );
      assert.match(JSON.stringify(await bob.callTool({ name: "list_namespaces", arguments: {} })), /POLICY DENIED/);
    } finally {
      await h.close();
    }
  });
});

describe("JWT bearer tokens", () => {
  let issuer: TestIssuer;
  let h: Harness;
  before(async () => {
    issuer = await startTestIssuer(AUDIENCE);
    const policy = mcpPolicy(`
identity:
  jwt: {issuer: "${issuer.issuer}", audiences: ["${AUDIENCE}"], clockSkewSeconds: 30, groupsClaim: roles}
default: deny
tools:
  - name: list_namespaces
  - name: manage_kv_store
    require: ["'kv-admins' in caller.groups", "caller.claims.tenant == 'acme'"]
  - name: resume_execution
    limits: [{counter: resume, window: minute, max: 1}]
`);
    h = await startHarness({ policy, apiKeys: null, config: { publicUrl: new URL("https://mcp.agents.example/mcp") } });
  });
  after(async () => {
    await h.close();
    await issuer.close();
  });

  const post = (token: string | undefined, body: unknown = INIT) =>
    rawPost(h.sidecar.url, body, token ? { authorization: `Bearer ${token}` } : {});
  const challenge = 'Bearer resource_metadata="https://mcp.agents.example/.well-known/oauth-protected-resource/mcp"';

  it("accepts a valid token, discovering the JWKS from the issuer", async () => {
    const answer = await post(await issuer.sign({ sub: "agent-7" }));
    assert.equal(answer.status, 200, answer.text);
    assert.ok(issuer.jwksRequests >= 1);
  });

  it("answers a missing token with 401 naming the protected-resource metadata", async () => {
    const answer = await post(undefined);
    assert.equal(answer.status, 401);
    assert.equal(answer.headers["www-authenticate"], challenge);
  });

  const rejected: [string, () => Promise<string>, RegExp][] = [
    [
      "an expired token",
      () => issuer.sign({ sub: "a" }, { expiresIn: Math.floor(Date.now() / 1000) - 120 }),
      /"exp" claim timestamp check failed/,
    ],
    [
      "a token for another audience",
      () => issuer.sign({ sub: "a" }, { audience: "https://other.example" }),
      /unexpected "aud" claim value/,
    ],
    [
      "a token from another issuer",
      () => issuer.sign({ sub: "a" }, { issuer: "https://evil.example" }),
      /unexpected "iss" claim value/,
    ],
    [
      "a token signed by a key the issuer does not publish",
      () => issuer.sign({ sub: "a" }, { key: "stranger" }),
      /signature verification failed/,
    ],
    [
      "an unsigned token (alg none)",
      () =>
        Promise.resolve(
          unsigned({ sub: "a", iss: issuer.issuer, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 }),
        ),
      /unknown credential/,
    ],
    [
      "a token signed with a shared secret (HS256)",
      () =>
        new SignJWT({ sub: "a" })
          .setProtectedHeader({ alg: "HS256", kid: "test-key-1" })
          .setIssuer(issuer.issuer)
          .setAudience(AUDIENCE)
          .setExpirationTime("5m")
          .sign(new TextEncoder().encode("x".repeat(32))),
      /alg/,
    ],
    ["a token without a subject", () => issuer.sign({}), /no "sub" claim/],
    [
      "a token not yet valid beyond the clock skew",
      () => issuer.sign({ sub: "a" }, { notBefore: Math.floor(Date.now() / 1000) + 300 }),
      /"nbf" claim timestamp check failed/,
    ],
  ];
  for (const [name, token, reason] of rejected) {
    it(`rejects ${name} with 401 invalid_token`, async () => {
      const answer = await post(await token());
      assert.equal(answer.status, 401, answer.text);
      const header = String(answer.headers["www-authenticate"]);
      assert.ok(header.startsWith(`${challenge}, error="invalid_token"`), header);
      assert.match((JSON.parse(answer.text) as { error: { message: string } }).error.message, reason);
    });
  }

  it("tolerates clock skew within the configured bound", async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await post(await issuer.sign({ sub: "a" }, { notBefore: now + 10 }))).status, 200);
    assert.equal((await post(await issuer.sign({ sub: "a" }, { expiresIn: now - 10 }))).status, 200);
  });

  it("serves RFC 9728 metadata at both well-known locations", async () => {
    for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]) {
      const res = await fetch(`${new URL(h.sidecar.url).origin}${path}`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        resource: "https://mcp.agents.example/mcp",
        authorization_servers: [issuer.issuer],
        bearer_methods_supported: ["header"],
        resource_name: "MCP server (policy enforced by mcp-warden)",
      });
    }
  });

  it("gives CEL rules the subject, groups and claims, and budgets per subject", async () => {
    const admin = await h.client(await issuer.sign({ sub: "ops-1", roles: ["kv-admins"], tenant: "acme" }));
    const other = await h.client(await issuer.sign({ sub: "ops-2", roles: ["viewers"], tenant: "acme" }));
    const args = { namespace: "n", action: "get", key: "k" };
    assert.equal(
      ((await admin.callTool({ name: "manage_kv_store", arguments: args })) as { isError?: boolean }).isError,
      undefined,
    );
    assert.match(JSON.stringify(await other.callTool({ name: "manage_kv_store", arguments: args })), /POLICY DENIED/);
    assert.equal(
      ((await admin.callTool({ name: "resume_execution", arguments: {} })) as { isError?: boolean }).isError,
      undefined,
    );
    assert.match(JSON.stringify(await admin.callTool({ name: "resume_execution", arguments: {} })), /RATE LIMITED/);
    assert.equal(
      ((await other.callTool({ name: "resume_execution", arguments: {} })) as { isError?: boolean }).isError,
      undefined,
      "ops-2 has a budget of its own",
    );
    const line = h.logs.auditLines.find((l) => l.tool === "manage_kv_store");
    assert.deepEqual(line?.caller, { grant: "jwt:ops-1", sub: "ops-1", method: "jwt" });
  });

  it("keeps an API key and a token subject of the same name apart: budgets, sessions and caller.grant", async () => {
    const policy = mcpPolicy(`
identity:
  jwt: {issuer: "${issuer.issuer}", audiences: ["${AUDIENCE}"]}
default: deny
tools:
  - name: list_namespaces
    require: ["caller.grant == 'apikey:ops-9' && caller.sub == 'ops-9'"]
  - name: resume_execution
    limits: [{counter: resume, window: minute, max: 1}]
`);
    const both = await startHarness({ policy, apiKeys: `${grantLine("ops-9", "ops-9-api-key")}\n` });
    try {
      const token = await issuer.sign({ sub: "ops-9" });
      const byKey = await both.client("ops-9-api-key");
      const byToken = await both.client(token);
      assert.equal(
        ((await byKey.callTool({ name: "resume_execution", arguments: {} })) as { isError?: boolean }).isError,
        undefined,
      );
      assert.match(JSON.stringify(await byKey.callTool({ name: "resume_execution", arguments: {} })), /RATE LIMITED/);
      assert.equal(
        ((await byToken.callTool({ name: "resume_execution", arguments: {} })) as { isError?: boolean }).isError,
        undefined,
        "the token's subject has its own budget",
      );
      assert.equal(
        ((await byKey.callTool({ name: "list_namespaces", arguments: {} })) as { isError?: boolean }).isError,
        undefined,
      );
      assert.match(JSON.stringify(await byToken.callTool({ name: "list_namespaces", arguments: {} })), /POLICY DENIED/);
      const keySession = await rawInitialize(both.sidecar.url, { authorization: "Bearer ops-9-api-key" });
      const stolen = await rawPost(both.sidecar.url, toolCall(5, "resume_execution"), {
        authorization: `Bearer ${token}`,
        "mcp-session-id": keySession,
        "mcp-protocol-version": "2025-03-26",
      });
      assert.equal(stolen.status, 404, "a session of the API key is not the token's");
      const grants = new Set(both.logs.auditLines.map((l) => (l.caller as { grant: string }).grant));
      assert.deepEqual([...grants].sort(), ["apikey:ops-9", "jwt:ops-9"]);
    } finally {
      await both.close();
    }
  });

  it("answers 503 (not 401) while the issuer's keys cannot be fetched", async () => {
    const fresh = await startHarness({
      policy: mcpPolicy(`identity:\n  jwt: {issuer: "${issuer.issuer}", audiences: ["${AUDIENCE}"]}\ndefault: allow`),
      apiKeys: null,
    });
    try {
      issuer.setDown(true);
      const answer = await rawPost(fresh.sidecar.url, INIT, {
        authorization: `Bearer ${await issuer.sign({ sub: "a" })}`,
      });
      assert.equal(answer.status, 503, answer.text);
      assert.equal(answer.headers["retry-after"], "5");
    } finally {
      issuer.setDown(false);
      await fresh.close();
    }
  });
});

describe("anonymous callers", () => {
  it("are admitted only when the policy says so, share the grant anonymous, and a bad token is still refused", async () => {
    const closed = await startHarness({ policy: mcpPolicy("default: allow"), apiKeys: null });
    try {
      const answer = await rawPost(closed.sidecar.url, INIT);
      assert.equal(answer.status, 401);
      assert.equal(answer.headers["www-authenticate"], 'Bearer realm="mcp-warden"');
      assert.equal(
        (await fetch(`${new URL(closed.sidecar.url).origin}/.well-known/oauth-protected-resource`)).status,
        404,
      );
    } finally {
      await closed.close();
    }
    const open = await startHarness({
      policy: mcpPolicy(
        "identity: {anonymous: true}\ndefault: deny\ntools:\n  - name: list_namespaces\n    limits: [{window: minute, max: 1}]",
      ),
    });
    try {
      const first = await open.client();
      const second = await open.client();
      assert.equal(
        ((await first.callTool({ name: "list_namespaces", arguments: {} })) as { isError?: boolean }).isError,
        undefined,
      );
      assert.match(
        JSON.stringify(await second.callTool({ name: "list_namespaces", arguments: {} })),
        /RATE LIMITED/,
        "anonymous callers share one budget",
      );
      assert.equal((await rawPost(open.sidecar.url, INIT, { authorization: "Bearer wrong" })).status, 401);
      assert.equal(
        (await rawPost(open.sidecar.url, toolCall(1, "list_namespaces"), { authorization: `Bearer ${KEYS.alice}` }))
          .status,
        400,
        "a key still identifies its grant (no session: upstream's 400)",
      );
    } finally {
      await open.close();
    }
  });
});
