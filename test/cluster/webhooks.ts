// Registers a mutating admission webhook that the API server calls by URL, the way the end-to-end
// suites reach an operator (or a test's own HTTPS server) running as a local process.
import type {
  AdmissionregistrationV1Api,
  V1LabelSelector,
  V1MutatingWebhookConfiguration,
  V1RuleWithOperations,
} from "@kubernetes/client-node";

export interface MutatingWebhookOptions {
  /** Name of the MutatingWebhookConfiguration. */
  name: string;
  /** e.g. https://127.0.0.1:<port>/mutate-pods */
  url: string;
  /** The CA that signed the webhook server's certificate (becomes caBundle). */
  caPem: string;
  /** Default: CREATE of core/v1 pods. */
  rules?: V1RuleWithOperations[];
  namespaceSelector?: V1LabelSelector;
  objectSelector?: V1LabelSelector;
  /** Default Fail, as the injector runs: an unreachable webhook refuses the request. */
  failurePolicy?: "Fail" | "Ignore";
  reinvocationPolicy?: "Never" | "IfNeeded";
  timeoutSeconds?: number;
}

const podCreate: V1RuleWithOperations = {
  operations: ["CREATE"],
  apiGroups: [""],
  apiVersions: ["v1"],
  resources: ["pods"],
  scope: "Namespaced",
};

/**
 * Creates the configuration. The API server picks it up through an informer, so the first requests
 * right after may not be sent to it yet: wait with eventually() on a dry-run request that it mutates.
 */
export async function registerMutatingWebhook(
  admission: AdmissionregistrationV1Api,
  options: MutatingWebhookOptions,
): Promise<V1MutatingWebhookConfiguration> {
  return await admission.createMutatingWebhookConfiguration({
    body: {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { name: options.name },
      webhooks: [
        {
          name: `${options.name}.test.mcpwarden.io`,
          clientConfig: { url: options.url, caBundle: Buffer.from(options.caPem, "utf8").toString("base64") },
          rules: options.rules ?? [podCreate],
          namespaceSelector: options.namespaceSelector,
          objectSelector: options.objectSelector,
          failurePolicy: options.failurePolicy ?? "Fail",
          reinvocationPolicy: options.reinvocationPolicy ?? "Never",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          timeoutSeconds: options.timeoutSeconds ?? 5,
        },
      ],
    },
  });
}
