// Result rules behind the real Kestra MCP server's code (PyPI's iflow-mcp-mcp-server-python 0.1.2, in
// front of the fake Kestra REST API), whose KV store holds secrets put there through Kestra's own API:
// reads through the sidecar come back redacted (an AWS key pair, a GitHub token) or withheld (a
// private key), with a TypeScript SDK client; the whole output (answers, audit and log lines, the
// metrics text) holds none of the secrets the server returned.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { KEYS, startProxy, type ProxyHarness } from "../support/sidecar-harness.ts";
import { startKestraPypi, type KestraPypi } from "../upstreams/kestra-pypi.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";

const POLICY = mcpPolicy(`default: allow
tools:
  - name: manage_kv_store
    results:
      denyIf: [private-key]
      redact: [secrets]`);

const NAMESPACE = "company.team";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const random = (chars: string, n: number) => [...randomBytes(n)].map((b) => chars[b % chars.length]).join("");

describe("result rules behind PyPI's Kestra MCP server", { timeout: 180_000 }, () => {
  let kestra: KestraPypi;
  let proxy: ProxyHarness;
  const secrets = {
    awsKeyId: `AKIA${random("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)}`,
    awsSecret: random(`${ALNUM}+/`, 40),
    githubToken: `ghp_${random(ALNUM, 36)}`,
    pem: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  };
  const transcript: string[] = [];
  before(async () => {
    kestra = await startKestraPypi();
    const put = async (key: string, value: string) => {
      const response = await fetch(`${kestra.kestraApi}/namespaces/${NAMESPACE}/kv/${key}`, {
        method: "PUT",
        body: value,
      });
      assert.equal(response.status, 200);
    };
    await put("aws_credentials", `aws_access_key_id=${secrets.awsKeyId}\naws_secret_access_key=${secrets.awsSecret}`);
    await put("ci_token", secrets.githubToken);
    await put("deploy_key", secrets.pem);
    proxy = await startProxy(kestra.url, { policy: POLICY });
  });
  after(async () => {
    await proxy?.close();
    await kestra?.stop();
  });

  const get = async (key: string) => {
    const client = await proxy.client(KEYS.alice);
    const result = (await client.callTool({
      name: "manage_kv_store",
      arguments: { namespace: NAMESPACE, action: "get", key },
    })) as CallToolResult;
    transcript.push(JSON.stringify(result));
    return result;
  };

  it("redacts the AWS key pair and the GitHub token the server returns", async () => {
    const aws = JSON.stringify(await get("aws_credentials"));
    assert.match(aws, /\[REDACTED:aws-access-key-id\]/);
    assert.match(aws, /\[REDACTED:aws-secret-access-key\]/);
    assert.match(JSON.stringify(await get("ci_token")), /\[REDACTED:github-token\]/);
    const reads = (await kestra.requests()).filter((r) => r.method === "GET" && r.path.includes("/kv/"));
    assert.deepEqual(
      reads.map((r) => r.path.split("/").at(-1)),
      ["aws_credentials", "ci_token"],
      "the server read them from Kestra",
    );
  });

  it("withholds the private key", async () => {
    const result = await get("deploy_key");
    assert.equal(result.isError, true);
    assert.match((result.content[0] as { text: string }).text, /^\[RESULT WITHHELD\] .*it contains private-key/);
  });

  it("shows no secret anywhere: answers, audit lines, log lines, metrics", async () => {
    const metrics = await (await fetch(`${proxy.sidecar.adminUrl}/metrics`)).text();
    assert.match(
      metrics,
      /mcp_warden_results_withheld_total\{policy="agents\/kestra",tool="manage_kv_store",reason="detector"\} 1/,
    );
    const everything = [
      ...transcript,
      ...proxy.logs.auditLines.map((l) => JSON.stringify(l)),
      ...proxy.logs.logLines.map((l) => JSON.stringify(l)),
      metrics,
    ].join("\n");
    for (const secret of [secrets.awsKeyId, secrets.awsSecret, secrets.githubToken])
      assert.ok(!everything.includes(secret));
    for (const line of secrets.pem.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----")))
      assert.ok(!everything.includes(line));
  });
});
