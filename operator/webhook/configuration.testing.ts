// The MutatingWebhookConfiguration the chart installs (the operator only keeps its caBundle current).
// Opt-in by labels, so the API server filters before calling: namespaces labelled
// mcpwarden.io/injection=enabled (never the system namespaces), pods not labelled
// mcpwarden.io/inject=false. failurePolicy Fail: a selected MCP server never starts unguarded.
import type { V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import {
  INJECT_POD_LABEL,
  INJECTION_ENABLED,
  INJECTION_NAMESPACE_LABEL,
  MANAGED_BY_LABELS,
  SYSTEM_NAMESPACES,
} from "../names.ts";
import { WEBHOOK_PATH } from "./server.ts";

export const WEBHOOK_NAME = "inject.mcpwarden.io";

export interface WebhookConfigurationOptions {
  name: string;
  operatorNamespace: string;
  /** The operator's Service, or a URL (for a local operator in tests). */
  service?: { name: string; port?: number };
  url?: string;
  caBundle?: string;
  timeoutSeconds?: number;
}

export function renderWebhookConfiguration(options: WebhookConfigurationOptions): V1MutatingWebhookConfiguration {
  const clientConfig = options.url
    ? { url: options.url }
    : {
        service: {
          namespace: options.operatorNamespace,
          name: options.service?.name ?? "mcp-warden-operator",
          path: WEBHOOK_PATH,
          port: options.service?.port ?? 443,
        },
      };
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: options.name, labels: { ...MANAGED_BY_LABELS } },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: "Fail",
        matchPolicy: "Equivalent",
        reinvocationPolicy: "IfNeeded",
        timeoutSeconds: options.timeoutSeconds ?? 5,
        clientConfig: {
          ...clientConfig,
          ...(options.caBundle ? { caBundle: Buffer.from(options.caBundle).toString("base64") } : {}),
        },
        rules: [
          { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" },
        ],
        namespaceSelector: {
          matchLabels: { [INJECTION_NAMESPACE_LABEL]: INJECTION_ENABLED },
          matchExpressions: [
            {
              key: "kubernetes.io/metadata.name",
              operator: "NotIn",
              values: [...SYSTEM_NAMESPACES, options.operatorNamespace],
            },
          ],
        },
        objectSelector: { matchExpressions: [{ key: INJECT_POD_LABEL, operator: "NotIn", values: ["false"] }] },
      },
    ],
  };
}
