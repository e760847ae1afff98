// Result rules behind the Kestra FastMCP test server, whose KV store and namespace files hold secrets
// (made fresh for each run): through the sidecar, reads come back redacted in SSE answers (FastMCP's
// default) and in JSON answers (FASTMCP_JSON_RESPONSE), are withheld under denyIf and under a CEL
// condition on the arguments and the caller, and an oversized file is refused. The upstream's own
// record shows it returned the secrets; the whole output the test sees (every answer, audit and log
// line, the metrics text) is then searched for them: none may appear.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { runPythonClient } from "../support/python-client.ts";
import { messagesOf, rawInitialize, rawPost, toolCall, type RawAnswer } from "../support/raw-mcp.ts";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { startKestraFastMcp, type KestraFastMcp } from "../upstreams/kestra-fastmcp.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";

const POLICY = mcpPolicy(`default: allow
tools:
  - name: manage_kv_store
    results:
      redact: [secrets]
      withholdIf: ["has(args.key) && args.key.startsWith('secret/') && !('ops' in caller.groups)"]
      reason: "Keys under secret/ are for the ops group."
  - name: namespace_file_action
    results:
      denyIf: [private-key]
      redact: [secrets, personal-data]
      maxBytes: 8192`);

const NAMESPACE = "company.team";
const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const random = (chars: string, n: number) => [...randomBytes(n)].map((b) => chars[b % chars.length]).join("");

/** Secrets made for this run, so finding one anywhere means it leaked from this run. */
function makeSecrets() {
  const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return {
    awsKeyId: `AKIA${random("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)}`,
    awsSecret: random(`${ALPHANUM}+/`, 40),
    githubToken: `ghp_${random(ALPHANUM, 36)}`,
    pem,
    pemBody: pem.split("\n")[1] as string,
    dbPassword: `pw-${random(ALPHANUM, 14)}`,
    jwt: `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url({ sub: "svc-etl", aud: "kestra" })}.${random(ALPHANUM, 43)}`,
    secretKeyValue: `only-ops-${random(ALPHANUM, 10)}`,
    email: `owner.${random("abcdefghijklmnopqrstuvwxyz", 8)}@example.com`,
  };
}
type Secrets = ReturnType<typeof makeSecrets>;

/** Puts the secrets into the fake Kestra through the server's own tools (no sidecar in between). */
async function seed(kestra: KestraFastMcp, s: Secrets): Promise<void> {
  await kestra.reset();
  const client = new Client({ name: "seed", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(kestra.url)));
  const kv = (key: string, value: unknown) =>
    client.callTool({ name: "manage_kv_store", arguments: { namespace: NAMESPACE, action: "set", key, value } });
  const file = (path: string, content: string) =>
    client.callTool({
      name: "namespace_file_action",
      arguments: { namespace: NAMESPACE, action: "create", path, file_content: content },
    });
  try {
    await kv(
      "aws_credentials",
      `[default]\naws_access_key_id = ${s.awsKeyId}\naws_secret_access_key = ${s.awsSecret}\n`,
    );
    await kv("ci_token", s.githubToken);
    await kv("secret/ops_only", s.secretKeyValue);
    await file("/keys/deploy.pem", s.pem);
    await file("/config/.env", `DB_PASSWORD=${s.dbPassword}\nSERVICE_TOKEN=${s.jwt}\nOWNER=${s.email}\n`);
    await file("/data/big.csv", "id,region,amount\n".repeat(1000));
  } finally {
    await client.close();
  }
}

interface Session {
  call(
    id: number,
    tool: string,
    args: Record<string, unknown>,
  ): Promise<{ answer: RawAnswer; result: Record<string, unknown> }>;
}

async function session(proxy: ProxyHarness, transcript: string[]): Promise<Session> {
  const auth = { authorization: `Bearer ${KEYS.alice}` };
  const id = await rawInitialize(proxy.sidecar.url, auth, "2025-11-25");
  const headers = { ...auth, "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" };
  return {
    async call(n, tool, args) {
      const answer = await rawPost(proxy.sidecar.url, toolCall(n, tool, args), headers);
      transcript.push(answer.text);
      const [message] = messagesOf(answer);
      assert.equal(message?.id, n);
      return { answer, result: message?.result as Record<string, unknown> };
    },
  };
}

const textOf = (result: Record<string, unknown>) =>
  ((result.content as { text: string }[])[0] as { text: string }).text;

for (const transport of ["sse", "json"] as const) {
  describe(
    `result rules behind the FastMCP Kestra server, ${transport.toUpperCase()} answers`,
    { timeout: 180_000 },
    () => {
      let kestra: KestraFastMcp;
      let proxy: ProxyHarness;
      let s: Secrets;
      let calls: Session;
      const transcript: string[] = [];
      before(async () => {
        kestra = await startKestraFastMcp(transport === "json" ? { env: { FASTMCP_JSON_RESPONSE: "true" } } : {});
        s = makeSecrets();
        await seed(kestra, s);
        proxy = await startProxy(kestra.url, { policy: POLICY });
        calls = await session(proxy, transcript);
      });
      after(async () => {
        await proxy?.close();
        await kestra?.stop();
      });

      const kvGet = (n: number, key: string) =>
        calls.call(n, "manage_kv_store", { namespace: NAMESPACE, action: "get", key });
      const fileGet = (n: number, path: string) =>
        calls.call(n, "namespace_file_action", { namespace: NAMESPACE, action: "get", path });
      const upstreamResult = async (predicate: (args: Record<string, unknown>) => boolean) => {
        const call = (await kestra.calls()).filter((c) => predicate(c.arguments)).at(-1);
        return JSON.stringify(call?.result ?? call?.error);
      };

      it(`answers in ${transport === "sse" ? "text/event-stream" : "application/json"}`, async () => {
        const { answer } = await calls.call(1, "manage_kv_store", { namespace: NAMESPACE, action: "list" });
        assert.match(
          String(answer.headers["content-type"]),
          transport === "sse" ? /^text\/event-stream/ : /^application\/json/,
        );
      });

      it("redacts AWS keys in a KV value, in the text content and in structuredContent, the JSON kept valid", async () => {
        const { result } = await kvGet(2, "aws_credentials");
        assert.ok(
          (await upstreamResult((a) => a.key === "aws_credentials")).includes(s.awsSecret),
          "FastMCP returned the secret",
        );
        const shown = JSON.stringify(result);
        assert.ok(!shown.includes(s.awsKeyId) && !shown.includes(s.awsSecret));
        assert.match(shown, /\[REDACTED:aws-access-key-id\]/);
        assert.match(shown, /\[REDACTED:aws-secret-access-key\]/);
        assert.notEqual(result.isError, true);
        const structured = result.structuredContent as Record<string, unknown> | undefined;
        const values = structured ? JSON.stringify(structured) : textOf(result);
        assert.match(values, /aws_access_key_id = \[REDACTED:aws-access-key-id\]/, "the rest of the value is kept");
        const text = textOf(result);
        if (text.startsWith("{")) JSON.parse(text); // a text that holds the tool's JSON stays valid JSON
      });

      it("redacts a GitHub token", async () => {
        const { result } = await kvGet(3, "ci_token");
        assert.ok(!JSON.stringify(result).includes(s.githubToken));
        assert.match(JSON.stringify(result), /\[REDACTED:github-token\]/);
      });

      it("withholds a key under secret/ from a caller without the ops group (CEL over args and caller)", async () => {
        const { result } = await kvGet(4, "secret/ops_only");
        assert.equal(result.isError, true);
        assert.match(
          textOf(result),
          /^\[RESULT WITHHELD\] The result of 'manage_kv_store' was withheld by policy agents\/kestra: .*Keys under secret\/ are for the ops group\.$/,
        );
        assert.ok(
          (await upstreamResult((a) => a.key === "secret/ops_only")).includes(s.secretKeyValue),
          "the tool ran",
        );
      });

      it("withholds a namespace file that holds a private key (denyIf), naming the detector", async () => {
        const { result } = await fileGet(5, "/keys/deploy.pem");
        assert.deepEqual(result.isError, true);
        assert.match(textOf(result), /withheld by policy agents\/kestra: it contains private-key \(\d+ match(es)?\)/);
        assert.ok((await upstreamResult((a) => a.path === "/keys/deploy.pem")).includes(s.pemBody));
      });

      it("redacts a password, a JWT and an e-mail address in a file", async () => {
        const { result } = await fileGet(6, "/config/.env");
        const shown = JSON.stringify(result);
        for (const secret of [s.dbPassword, s.jwt, s.email]) assert.ok(!shown.includes(secret));
        for (const detector of ["password-assignment", "jwt", "email"])
          assert.match(shown, new RegExp(`\\[REDACTED:${detector}\\]`));
      });

      it("refuses a result larger than maxBytes, saying the limit", async () => {
        const { result } = await fileGet(7, "/data/big.csv");
        assert.equal(result.isError, true);
        // Measured when the answer came whole; "it is more than" when the sidecar stopped reading at the bound.
        assert.match(textOf(result), /it is (\d+ bytes, )?more than the 8192 bytes the policy allows/);
      });

      it("counts redactions and withheld results, and audits detectors and counts", async () => {
        const labels = { policy: "agents/kestra", tool: "manage_kv_store" };
        // Counts follow the answer's shape (FastMCP sends a dict as text and as structuredContent).
        assert.ok(
          ((await proxy.metric("mcp_warden_result_redactions_total", { ...labels, detector: "aws-access-key-id" })) ??
            0) >= 1,
        );
        assert.equal(await proxy.metric("mcp_warden_results_withheld_total", { ...labels, reason: "condition" }), 1);
        assert.equal(
          await proxy.metric("mcp_warden_results_withheld_total", {
            policy: "agents/kestra",
            tool: "namespace_file_action",
            reason: "detector",
          }),
          1,
        );
        assert.equal(
          await proxy.metric("mcp_warden_results_withheld_total", {
            policy: "agents/kestra",
            tool: "namespace_file_action",
            reason: "too_large",
          }),
          1,
        );
        const audit = proxy.logs.auditLines.filter((l) => l.msg === "tool call");
        const pem = audit.find((l) => (l.results as { reason?: string } | undefined)?.reason === "detector");
        const { detectors: pemDetectors, ...pemVerdict } = pem?.results as { detectors: Record<string, number> };
        assert.deepEqual(pemVerdict, { action: "withheld", reason: "detector", rule: "/spec/tools/1/results" });
        assert.deepEqual(Object.keys(pemDetectors), ["private-key"]);
        const aws = audit.find((l) => l.requestId === 2);
        const { detectors: awsDetectors, ...awsVerdict } = aws?.results as { detectors: Record<string, number> };
        assert.deepEqual(awsVerdict, { action: "redacted", rule: "/spec/tools/0/results" });
        assert.deepEqual(Object.keys(awsDetectors).sort(), ["aws-access-key-id", "aws-secret-access-key"]);
        assert.ok(Object.values(awsDetectors).every((n) => n >= 1));
      });

      it("gives the TypeScript SDK and Python mcp clients redacted results they accept (outputSchema, isError)", async () => {
        const client = await proxy.client(KEYS.alice);
        const read = await client.callTool({
          name: "manage_kv_store",
          arguments: { namespace: NAMESPACE, action: "get", key: "ci_token" },
        });
        const sdkText = JSON.stringify(read);
        assert.match(sdkText, /\[REDACTED:github-token\]/);
        const pem = await client.callTool({
          name: "namespace_file_action",
          arguments: { namespace: NAMESPACE, action: "get", path: "/keys/deploy.pem" },
        });
        assert.equal(pem.isError, true);
        const lines = await runPythonClient(
          proxy.sidecar.url,
          [
            [
              "tools/call",
              { name: "manage_kv_store", arguments: { namespace: NAMESPACE, action: "get", key: "aws_credentials" } },
            ],
          ],
          KEYS.bob,
        );
        const pythonText = JSON.stringify(lines[1]);
        assert.match(pythonText, /\[REDACTED:aws-secret-access-key\]/);
        transcript.push(sdkText, JSON.stringify(pem), pythonText);
      });

      it("shows no secret anywhere: answers, audit lines, log lines, metrics", async () => {
        const metrics = await (await fetch(`${proxy.sidecar.adminUrl}/metrics`)).text();
        const everything = [
          ...transcript,
          ...proxy.logs.auditLines.map((l) => JSON.stringify(l)),
          ...proxy.logs.logLines.map((l) => JSON.stringify(l)),
          metrics,
        ].join("\n");
        assert.ok(transcript.length >= 7);
        for (const [name, secret] of Object.entries(s)) {
          if (name === "pem") continue; // its lines are searched one by one below
          assert.ok(!everything.includes(secret), `${name} leaked`);
        }
        for (const line of s.pem.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----")))
          assert.ok(!everything.includes(line), "a line of the private key leaked");
      });
    },
  );
}
