import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { AdmissionHandler } from "../injector/admission.ts";
import { injectorConfig } from "../injector/config.ts";
import { createOperatorMetrics } from "../metrics.ts";
import { PolicyIndex, policyEntry } from "../policy-index.ts";
import { createCertificateAuthority, issueServingCertificate, type KeyPairPem } from "./certificates.ts";
import { WebhookServer, WEBHOOK_PATH } from "./server.ts";

const DAY = 86_400_000;

function review(pod: unknown, uid = "0b0f4c44-1") {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "", version: "v1", kind: "Pod" },
      operation: "CREATE",
      namespace: "agents",
      object: pod,
    },
  };
}

describe("WebhookServer", () => {
  let ca: KeyPairPem;
  let server: WebhookServer;
  let port: number;
  const metrics = createOperatorMetrics({ version: "test", defaultMetrics: false });
  const index = new PolicyIndex();
  index.set(
    policyEntry({
      metadata: { name: "kestra", namespace: "agents" },
      spec: { podSelector: { matchLabels: { app: "kestra" } }, upstream: { profile: "kestra" } },
    }),
  );

  before(async () => {
    ca = await createCertificateAuthority("test-ca", Date.now(), DAY);
    const serving = await issueServingCertificate(ca, ["127.0.0.1"], Date.now(), DAY);
    const handler = new AdmissionHandler({
      index,
      config: injectorConfig({ sidecarImage: "mcp-warden:test", operatorNamespace: "mcp-warden" }),
      ready: () => true,
      metrics,
    });
    server = new WebhookServer({ handler, host: "127.0.0.1", port: 0, certificate: serving });
    port = await server.start();
  });
  after(() => server.close());

  const post = async (body: unknown, trust: string, extra: Record<string, string> = {}) => {
    const dispatcher = new Agent({ connect: { ca: trust, servername: undefined } });
    try {
      const res = await request(`https://127.0.0.1:${port}${WEBHOOK_PATH}`, {
        method: "POST",
        body: typeof body === "string" ? body : JSON.stringify(body),
        headers: { "content-type": "application/json", ...extra },
        dispatcher,
      });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    } finally {
      await dispatcher.close();
    }
  };

  it("answers an AdmissionReview over TLS with a base64 JSON Patch", async () => {
    const pod = {
      metadata: { name: "k", labels: { app: "kestra" } },
      spec: { containers: [{ name: "kestra", image: "ghcr.io/kestra-io/mcp-server-python:1" }] },
    };
    const res = await post(review(pod), ca.cert);
    assert.equal(res.status, 200);
    const response = (res.body as { response: { uid: string; allowed: boolean; patchType: string; patch: string } })
      .response;
    assert.equal(response.uid, "0b0f4c44-1");
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, "JSONPatch");
    const ops = JSON.parse(Buffer.from(response.patch, "base64").toString()) as Array<{ op: string; path: string }>;
    assert.ok(ops.some((o) => o.op === "add" && o.path === "/spec/initContainers"));
    const counted = await metrics.registry.getSingleMetricAsString("mcp_warden_injections_total");
    assert.match(counted, /mcp_warden_injections_total\{result="injected",reason="injected"\} 1/);
  });

  it("rejects malformed reviews with 400 and oversized bodies with 413", async () => {
    const bad = await post({ apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview" }, ca.cert);
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.message), /admission\.k8s\.io\/v1/);
    const huge = await post(JSON.stringify({ pad: "x".repeat(2 * 1024 * 1024 + 10) }), ca.cert);
    assert.equal(huge.status, 413);
    const notJson = await post("{", ca.cert);
    assert.equal(notJson.status, 400);
  });

  it("serves clients limited to TLS 1.2 (older API servers) as well as TLS 1.3", async () => {
    for (const maxVersion of ["TLSv1.2", "TLSv1.3"] as const) {
      const dispatcher = new Agent({ connect: { ca: ca.cert, maxVersion } });
      const res = await request(`https://127.0.0.1:${port}/healthz`, { dispatcher });
      assert.equal(res.statusCode, 404, "reached the server over " + maxVersion);
      await res.body.dump();
      await dispatcher.close();
    }
  });

  it("serves a rotated certificate to new connections without restarting", async () => {
    const newCa = await createCertificateAuthority("test-ca-2", Date.now(), DAY);
    server.useCertificate(await issueServingCertificate(newCa, ["127.0.0.1"], Date.now(), DAY));
    const pod = {
      metadata: { name: "w", labels: { app: "web" } },
      spec: { containers: [{ name: "web", image: "nginx" }] },
    };
    await assert.rejects(post(review(pod), ca.cert), "the old CA no longer verifies the server");
    const res = await post(review(pod), newCa.cert);
    assert.equal(res.status, 200);
  });
});
