// Kubernetes service-account tokens, verified against a real kube-apiserver's service-account issuer:
// the sidecar reads the issuer's discovery document and JWKS with its own service-account token, then
// accepts tokens minted for the mcp-warden audience and refuses those minted for the API server.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { rawPost } from "../support/raw-mcp.ts";
import { startControlPlane, type ControlPlane } from "../cluster/harness.ts";

const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
};

describe("Kubernetes service-account tokens (real kube-apiserver)", { timeout: 180_000 }, () => {
  let kube: ControlPlane;
  let h: Harness;
  const token = async (ns: string, sa: string, audiences?: string[]) =>
    (await kube.requestServiceAccountToken(ns, sa, audiences ? { audiences } : {})).token;
  before(async () => {
    kube = await startControlPlane({ name: "sidecar-identity" });
    for (const ns of ["agents", "mcp-system"]) await kube.createNamespace(ns);
    for (const [ns, sa] of [
      ["agents", "deployer"],
      ["agents", "reader"],
      ["mcp-system", "kestra-mcp"],
    ] as const) {
      await kube.kubectl(["create", "serviceaccount", sa, "-n", ns]);
    }
    // The sidecar's own token, as the kubelet would mount it.
    const dir = mkdtempSync(join(tmpdir(), "sa-"));
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, await token("mcp-system", "kestra-mcp"));
    const policy = mcpPolicy(`
identity:
  kubernetes: {audiences: [mcp-warden]}
default: deny
tools:
  - name: list_namespaces
  - name: resume_execution
    require: ["caller.sub == 'system:serviceaccount:agents:deployer'", "'system:serviceaccounts:agents' in caller.groups"]
`);
    h = await startHarness({
      policy,
      apiKeys: null,
      config: { kubernetesApi: { server: kube.server, tokenFile, caFile: kube.caFile } },
    });
  });
  after(async () => {
    await h?.close();
    await kube?.stop();
  });

  it("accepts a token minted for the mcp-warden audience and names the caller after its service account", async () => {
    const client = await h.client(await token("agents", "deployer", ["mcp-warden"]));
    assert.equal(
      ((await client.callTool({ name: "resume_execution", arguments: {} })) as { isError?: boolean }).isError,
      undefined,
    );
    const line = h.logs.auditLines.find((l) => l.tool === "resume_execution");
    assert.deepEqual(line?.caller, {
      grant: "k8s:system:serviceaccount:agents:deployer",
      sub: "system:serviceaccount:agents:deployer",
      method: "kubernetes",
    });
  });

  it("gives CEL rules the service account's subject and groups", async () => {
    const reader = await h.client(await token("agents", "reader", ["mcp-warden"]));
    assert.equal(
      ((await reader.callTool({ name: "list_namespaces", arguments: {} })) as { isError?: boolean }).isError,
      undefined,
    );
    assert.match(JSON.stringify(await reader.callTool({ name: "resume_execution", arguments: {} })), /POLICY DENIED/);
  });

  it("refuses a token minted for the API server, so cluster tokens cannot be replayed here", async () => {
    const answer = await rawPost(h.sidecar.url, INIT, { authorization: `Bearer ${await token("agents", "deployer")}` });
    assert.equal(answer.status, 401);
    assert.match(answer.text, /aud/);
  });

  it("names the cluster's issuer in the protected-resource metadata", async () => {
    const metadata = (await (
      await fetch(`${new URL(h.sidecar.url).origin}/.well-known/oauth-protected-resource`)
    ).json()) as { authorization_servers: string[] };
    assert.deepEqual(metadata.authorization_servers, [kube.issuer]);
  });
});
