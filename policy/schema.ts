// The McpPolicy resource as a zod schema: the single source of truth for the TypeScript types,
// the CRD (crds/ is generated from this file) and policy validation in the sidecar and CLI.
// Keep it CRD-friendly: no unions or $refs, camelCase fields, closed objects, bounded sizes.
import { z } from "zod";
import { refundOnErrorField, refundOnField } from "./schema-refund.ts";
import { Detector, ResultRules } from "./schema-results.ts";

export const API_GROUP = "mcpwarden.io";
export const API_VERSION = "v1alpha1";
export const KIND = "McpPolicy";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Object names such as Secrets' are DNS subdomains: DNS labels joined by dots. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A label value: empty, or alphanumerics with `-_.` inside, at most 63 characters. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** A Kubernetes resource quantity (`100m`, `64Mi`, `1.5`, `2e3`). */
const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
/** Counter names: letters, digits and `_.-`, like a Prometheus label value people can read. */
const COUNTER_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/;
/** `second | minute | hour | day`, or a duration such as `90s`, `15m`, `2h`, `7d`. */
export const WINDOW_PATTERN = /^(second|minute|hour|day|[1-9][0-9]{0,8}(ms|s|m|h|d))$/;
/** Go-style durations for timeouts: `30s`, `5m`, `1h`. */
const DURATION_PATTERN = /^[1-9][0-9]{0,8}(ms|s|m|h)$/;

const celExpression = z
  .string()
  .min(1)
  .max(4096)
  .describe("A CEL expression over `args`, `tool` and `caller` that evaluates to a bool.");

export const Limit = z
  .strictObject({
    counter: z
      .string()
      .regex(COUNTER_NAME, "must be letters, digits, '_', '.' or '-'")
      .max(128)
      .optional()
      .describe(
        "Budget name; limits that name the same counter share one budget. Defaults to a budget private to this limit.",
      ),
    window: z
      .string()
      .regex(WINDOW_PATTERN, "must be second, minute, hour, day or a duration such as 90s, 15m, 2h")
      .describe("Sliding window length."),
    max: z.int().min(1).max(1_000_000).describe("Calls admitted in any interval of one window length."),
    scope: z
      .enum(["grant", "session", "global"])
      .default("grant")
      .describe("grant: per authenticated caller; session: per MCP session; global: one budget for everyone."),
    // Refunds (policy/schema-refund.ts).
    refundOn: refundOnField,
    refundOnError: refundOnErrorField,
  })
  .describe("A sliding-window rate limit.");

export const Approval = z
  .strictObject({
    timeout: z.string().regex(DURATION_PATTERN).default("5m").describe("How long a call waits for a decision."),
    ttl: z
      .string()
      .regex(DURATION_PATTERN)
      .default("15m")
      .describe("How long an approval can be used by a retry of the same call."),
    via: z.enum(["kubernetes", "elicitation", "both"]).default("kubernetes"),
  })
  .describe("How calls of an `approve` rule are approved.");

export const ToolRule = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(256)
      .describe("Tool name, exact or a glob (`*` any run of characters, `?` one character)."),
    action: z.enum(["allow", "deny", "approve"]).default("allow"),
    reason: z.string().max(1024).optional().describe("Shown to the agent when this rule denies a call."),
    limits: z.array(Limit).max(16).optional(),
    require: z.array(celExpression).max(32).optional().describe("CEL conditions that must all hold."),
    denyIf: z.array(celExpression).max(32).optional().describe("CEL conditions of which any denies the call."),
    arguments: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        "A JSON Schema (draft 2020-12) the call's arguments must satisfy. Patterns and formats run on RE2; " +
          "formats check strings of up to 8 KiB, patterns up to 64 KiB; uniqueItems needs items declared scalar; " +
          "$ref must be local and not recursive.",
      ),
    approval: Approval.optional(),
    // Result rules (schema-results.ts)
    results: ResultRules.optional(),
  })
  .meta({
    // What the schema cannot say on its own; the API server rejects these at apply time.
    "x-kubernetes-validations": [
      ...(["require", "denyIf", "limits", "arguments", "results"] as const).map((field) => ({
        rule: `!has(self.action) || self.action != 'deny' || !has(self.${field})`,
        message: `${field} has no effect on a rule whose action is deny: remove it, or set action to allow or approve`,
        fieldPath: `.${field}`,
        reason: "FieldValueForbidden",
      })),
      {
        rule: "!has(self.approval) || (has(self.action) && self.action == 'approve')",
        message: "approval only applies to a rule whose action is approve",
        fieldPath: ".approval",
        reason: "FieldValueForbidden",
      },
    ],
  })
  .describe("What happens to calls of the tools this rule names.");

// ---- Resources and prompts: the same decision as tools for resources/read|list, resources/templates/list,
// prompts/get|list. A policy without these blocks leaves those methods as they pass today (ADR 0150).
const targetAction = z.enum(["allow", "deny", "hide"]).default("allow");

export const ResourceRule = z
  .strictObject({
    uri: z
      .string()
      .min(1)
      .max(2048)
      .describe(
        "Resource URI, exact or a glob (`*` any run of characters, `?` one). Matched against resources' uri and templates' uriTemplate text.",
      ),
    action: targetAction.describe(
      "allow | deny | hide (hidden: removed from lists and answered as a resource that does not exist).",
    ),
    reason: z.string().max(1024).optional().describe("Shown to the agent when this rule denies a read."),
    limits: z.array(Limit).max(16).optional(),
    require: z
      .array(celExpression)
      .max(32)
      .optional()
      .describe("CEL conditions over `uri` and `caller` that must all hold."),
    denyIf: z
      .array(celExpression)
      .max(32)
      .optional()
      .describe("CEL conditions over `uri` and `caller` of which any denies the read."),
  })
  .describe("What happens to reads of the resources this rule names.");

export const PromptRule = z
  .strictObject({
    name: z.string().min(1).max(256).describe("Prompt name, exact or a glob."),
    action: targetAction.describe(
      "allow | deny | hide (hidden: removed from prompts/list and answered as an unknown prompt).",
    ),
    reason: z.string().max(1024).optional().describe("Shown to the agent when this rule denies a prompts/get."),
    limits: z.array(Limit).max(16).optional(),
    require: z
      .array(celExpression)
      .max(32)
      .optional()
      .describe("CEL conditions over `name`, `args` and `caller` that must all hold."),
    denyIf: z
      .array(celExpression)
      .max(32)
      .optional()
      .describe("CEL conditions over `name`, `args` and `caller` of which any denies."),
    arguments: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("A JSON Schema the prompt's arguments must satisfy."),
  })
  .describe("What happens to prompts/get of the prompts this rule names.");

export const ResourcePolicy = z
  .strictObject({
    default: z.enum(["allow", "deny"]).default("deny").describe("What happens to resources no rule names."),
    rules: z
      .array(ResourceRule)
      .max(1000)
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["uri"] })
      .optional(),
  })
  .describe("Rules for resources/read, resources/list and resources/templates/list. Absent: those pass as they are.");

export const PromptPolicy = z
  .strictObject({
    default: z.enum(["allow", "deny"]).default("deny").describe("What happens to prompts no rule names."),
    rules: z
      .array(PromptRule)
      .max(1000)
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .optional(),
  })
  .describe("Rules for prompts/get and prompts/list. Absent: those pass as they are.");
// ---- end of resources and prompts

const LabelSelectorRequirement = z
  .strictObject({
    key: z.string().min(1).max(317),
    operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
    values: z.array(z.string().max(63).regex(LABEL_VALUE, "must be a valid label value")).max(64).optional(),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
        message: "values must be non-empty when operator is In or NotIn, and empty when it is Exists or DoesNotExist",
        fieldPath: ".values",
        reason: "FieldValueInvalid",
      },
    ],
  });

export const LabelSelector = z
  .strictObject({
    matchLabels: z
      .record(z.string().min(1).max(317), z.string().max(63).regex(LABEL_VALUE, "must be a valid label value"))
      .optional(),
    matchExpressions: z.array(LabelSelectorRequirement).max(32).optional(),
  })
  .describe("A Kubernetes label selector.");

const SecretKeyRef = z.strictObject({
  name: z.string().regex(DNS_SUBDOMAIN, "must be a Secret name (a DNS subdomain)").max(253),
  key: z.string().min(1).max(253),
});

export const Identity = z
  .strictObject({
    anonymous: z
      .boolean()
      .default(false)
      .describe("Admit callers without credentials; they share the grant `anonymous`."),
    apiKeys: z
      .strictObject({
        secretRef: SecretKeyRef.optional().describe(
          "Secret holding `name: sha256(key)` lines (mounted into the sidecar).",
        ),
        file: z
          .string()
          .min(1)
          .max(4096)
          .optional()
          .describe("Path of the grants file when running outside Kubernetes."),
      })
      .meta({
        "x-kubernetes-validations": [
          {
            rule: "has(self.secretRef) != has(self.file)",
            message: "set exactly one of secretRef or file",
            reason: "FieldValueInvalid",
          },
        ],
      })
      .optional(),
    jwt: z
      .strictObject({
        issuer: z.string().min(1).max(2048),
        audiences: z.array(z.string().min(1).max(2048)).min(1).max(16),
        jwksUri: z.string().max(2048).optional().describe("Defaults to the issuer's OIDC discovery document."),
        clockSkewSeconds: z.int().min(0).max(600).default(30),
        subjectClaim: z.string().max(128).default("sub"),
        groupsClaim: z.string().max(128).default("groups"),
      })
      .optional(),
    kubernetes: z
      .strictObject({
        audiences: z.array(z.string().min(1).max(2048)).min(1).max(16).optional(),
      })
      .optional()
      .describe("Accept Kubernetes service-account tokens, verified against the cluster's OIDC JWKS."),
  })
  .describe("Who callers are; the grant of a rate limit is the authenticated caller.");

export const RateLimitConfig = z
  .strictObject({
    store: z.enum(["memory", "redis"]).default("memory"),
    failMode: z
      .enum(["closed", "open"])
      .default("closed")
      .describe("What happens when the limit store is unavailable: closed denies, open allows and counts."),
    redis: z
      .strictObject({
        url: z.string().max(2048).optional(),
        secretRef: SecretKeyRef.optional(),
        keyPrefix: z.string().max(256).optional(),
        timeoutMs: z.int().min(1).max(10_000).default(250),
      })
      .optional(),
  })
  .describe("Where rate-limit counters live.");

export const Upstream = z.strictObject({
  port: z
    .int()
    .min(1)
    .max(65535)
    .optional()
    .describe(
      "Loopback port the MCP server listens on once the sidecar takes its port over. Required unless a profile starts the server (kestra: 18000).",
    ),
  path: z
    .string()
    .regex(/^\/[^\s?#]*$/)
    .max(1024)
    .default("/mcp"),
  profile: z
    .enum(["generic", "kestra"])
    .default("generic")
    .describe("kestra: start the Kestra MCP server with FastMCP's HTTP transport on loopback."),
});

export const Listen = z.strictObject({
  port: z
    .int()
    .min(1)
    .max(65535)
    .default(8080)
    .describe(
      "Port the sidecar serves when the MCP container declares none; otherwise it takes over the declared port.",
    ),
});

const quantity = z.string().max(64).regex(QUANTITY, "must be a Kubernetes quantity such as 100m or 64Mi");
const ResourceList = z.strictObject({
  cpu: quantity.optional(),
  memory: quantity.optional(),
  "ephemeral-storage": quantity.optional(),
});
export const SidecarSettings = z
  .strictObject({
    resources: z.strictObject({ requests: ResourceList.optional(), limits: ResourceList.optional() }).optional(),
    allowedOrigins: z.array(z.string().max(2048)).max(64).optional(),
    // OpenTelemetry traces (when the sidecar exports them: --tracing otlp).
    traceSamplingRatio: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        "Ratio (0–1) of new traces the sidecar samples; a client's sampled trace context is always followed (parent-based). Overrides --trace-sampling-ratio.",
      ),
    approvalStateKey: SecretKeyRef.optional().describe(
      "Secret key (at least 32 bytes) that signs 2026-07-28 approval requestStates, mounted into the sidecar; every replica uses the same. Default: a random key per sidecar.",
    ),
  })
  .describe("Settings of the injected sidecar.");

// Tool definition pins (ADR 0130–0134): the reviewed definitions of the upstream's tools, by digest.
/** A pin: `sha256:` and the 64 lower-case hex digits of a tool definition's digest (policy/pins). */
export const PIN_DIGEST = /^sha256:[0-9a-f]{64}$/;
export const Pins = z
  .strictObject({
    mode: z
      .enum(["Enforce", "Audit", "Off"])
      .default("Enforce")
      .describe(
        "Enforce: drifted and unpinned tools are treated as onDrift and newTools say. Audit: drift is reported (metrics, audit, status) and nothing is blocked. Off: not checked.",
      ),
    tools: z
      .record(
        z.string().min(1).max(256),
        z
          .string()
          .regex(
            PIN_DIGEST,
            "must be sha256: followed by the 64 lower-case hex digits of the tool definition's digest (mcp-warden policy pin writes them)",
          ),
      )
      .meta({ maxProperties: 10_000 })
      .optional()
      .describe(
        "Reviewed tool definitions: tool name to the digest of its definition (name, title, description, inputSchema, outputSchema, annotations, _meta).",
      ),
    onDrift: z
      .enum(["hide", "deny"])
      .default("hide")
      .describe(
        "What happens to a pinned tool whose live definition has another digest: hide removes it from tools/list and denies its calls; deny lists it and denies its calls.",
      ),
    newTools: z
      .enum(["allow", "hide"])
      .default("allow")
      .describe(
        "What happens to a tool the upstream lists that has no pin: allow leaves it to the rules; hide removes it from tools/list and denies its calls.",
      ),
  })
  .describe(
    "Tool definitions pinned by digest: a tool whose definition changed is not callable until its pin is updated.",
  );

export const McpPolicySpec = z.strictObject({
  podSelector: LabelSelector.optional().describe("Pods that get the sidecar. Empty selects no pods."),
  upstream: Upstream.optional(),
  listen: Listen.optional(),
  mode: z.enum(["Enforce", "Audit"]).default("Enforce").describe("Audit decides, logs and counts but never blocks."),
  injection: z
    .enum(["Required", "Optional"])
    .optional()
    .describe(
      "Required: a pod this policy selects is refused at admission unless it runs the sidecar (opted out with mcpwarden.io/inject=false, hostNetwork, " +
        "or a namespace without mcpwarden.io/injection=enabled), and status counts such pods. Optional (when unset): such pods run without it.",
    ),
  default: z.enum(["allow", "deny"]).default("deny").describe("What happens to tools no rule names."),
  hide: z
    .array(z.string().min(1).max(256))
    .max(1024)
    .meta({ "x-kubernetes-list-type": "set" })
    .optional()
    .describe("Tools removed from tools/list and denied; `*` hides all."),
  arguments: z
    .enum(["strict", "rules"])
    .optional()
    .describe(
      "strict: before any rule runs, a call's arguments must validate, without type coercion, against the inputSchema the MCP server " +
        'declares for the tool in tools/list ("true" is not a boolean, 1 is not a boolean); calls that do not, or to tools whose ' +
        "inputSchema the sidecar has not learnt, are denied. rules (the default): only the policy's own rules check arguments.",
    ),
  identity: Identity.optional(),
  rateLimit: RateLimitConfig.optional(),
  allTools: z
    .strictObject({
      limits: z.array(Limit).max(16).optional(),
      // Result rules (schema-results.ts)
      results: ResultRules.optional(),
    })
    .optional(),
  tools: z
    .array(ToolRule)
    .max(10_000)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
    .optional()
    .describe("Rules by tool name; each name appears once."),
  sidecar: SidecarSettings.optional(),
  pins: Pins.optional(),
  // Result rules (schema-results.ts)
  detectors: z
    .array(Detector)
    .max(64)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
    .optional()
    .describe("Detectors of the policy's own, named in results rules beside the built-in ones."),
  resources: ResourcePolicy.optional(),
  prompts: PromptPolicy.optional(),
});

export const ObjectMeta = z.looseObject({
  name: z.string().regex(DNS_LABEL).max(253),
  namespace: z.string().regex(DNS_LABEL).max(63).optional(),
  generation: z.int().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
});

export const McpPolicyResource = z.strictObject({
  apiVersion: z.literal(`${API_GROUP}/${API_VERSION}`),
  kind: z.literal(KIND),
  metadata: ObjectMeta,
  spec: McpPolicySpec,
  status: z.unknown().optional(),
});

/** A condition in the Kubernetes API convention (metav1.Condition). */
export const PolicyCondition = z.strictObject({
  type: z
    .string()
    .min(1)
    .max(316)
    .regex(/^[A-Za-z][A-Za-z0-9]*$/)
    .describe("Ready, or another condition type in CamelCase."),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: z.int().min(0).optional().describe("The spec generation the condition was computed from."),
  lastTransitionTime: z.string().max(64).meta({ format: "date-time" }).describe("When status last changed."),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .describe("CamelCase reason, such as Accepted or InvalidRule."),
  message: z.string().max(32768).describe("What is wrong and how to fix it."),
});

/** What the operator reports about an McpPolicy (the status subresource). */
export const McpPolicyStatus = z
  .strictObject({
    observedGeneration: z.int().min(0).optional().describe("The spec generation this status was computed from."),
    conditions: z
      .array(PolicyCondition)
      .max(16)
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
      .optional(),
    selectedPods: z.int().min(0).optional().describe("Running pods the podSelector selects."),
    enforcedPods: z.int().min(0).optional().describe("Selected pods that run the mcp-warden sidecar for this policy."),
    unguardedPods: z
      .array(z.string().max(253))
      .max(20)
      .optional()
      .describe("Selected pods that run without the sidecar (the first 20 by name)."),
    policyDigest: z
      .string()
      .max(64)
      .optional()
      .describe("Digest of the compiled policy, as the sidecars report it in mcp_warden_policy_info."),
  })
  .describe("Observed state of the policy, written by the operator.");

export type LimitSpec = z.infer<typeof Limit>;
export type ToolRuleSpec = z.infer<typeof ToolRule>;
export type ResourceRuleSpec = z.infer<typeof ResourceRule>;
export type PromptRuleSpec = z.infer<typeof PromptRule>;
export type McpPolicySpecType = z.infer<typeof McpPolicySpec>;
export type McpPolicyResourceType = z.infer<typeof McpPolicyResource>;
export type IdentitySpec = z.infer<typeof Identity>;
export type RateLimitSpec = z.infer<typeof RateLimitConfig>;
export type PolicyConditionType = z.infer<typeof PolicyCondition>;
export type McpPolicyStatusType = z.infer<typeof McpPolicyStatus>;
export type PinsSpec = z.infer<typeof Pins>;
