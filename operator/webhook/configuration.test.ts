import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderWebhookConfiguration } from "./configuration.testing.ts";

describe("renderWebhookConfiguration", () => {
  it("fails closed, has no side effects, and lets the API server filter by labels", () => {
    const config = renderWebhookConfiguration({ name: "mcp-warden-injector", operatorNamespace: "mcp-warden" });
    const webhook = config.webhooks?.[0];
    assert.equal(webhook?.failurePolicy, "Fail");
    assert.equal(webhook?.sideEffects, "None");
    assert.equal(webhook?.timeoutSeconds, 5);
    assert.deepEqual(webhook?.admissionReviewVersions, ["v1"]);
    assert.deepEqual(webhook?.rules, [
      { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" },
    ]);
    assert.deepEqual(webhook?.namespaceSelector, {
      matchLabels: { "mcpwarden.io/injection": "enabled" },
      matchExpressions: [
        {
          key: "kubernetes.io/metadata.name",
          operator: "NotIn",
          values: ["kube-system", "kube-public", "kube-node-lease", "mcp-warden"],
        },
      ],
    });
    assert.deepEqual(webhook?.objectSelector, {
      matchExpressions: [{ key: "mcpwarden.io/inject", operator: "NotIn", values: ["false"] }],
    });
    assert.deepEqual(webhook?.clientConfig, {
      service: { namespace: "mcp-warden", name: "mcp-warden-operator", path: "/mutate-pods", port: 443 },
    });
  });

  it("addresses a local operator by URL, with a CA bundle when given", () => {
    const config = renderWebhookConfiguration({
      name: "x",
      operatorNamespace: "ns",
      url: "https://127.0.0.1:9443/mutate-pods",
      caBundle: "PEM",
    });
    assert.deepEqual(config.webhooks?.[0]?.clientConfig, {
      url: "https://127.0.0.1:9443/mutate-pods",
      caBundle: Buffer.from("PEM").toString("base64"),
    });
  });
});
