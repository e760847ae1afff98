// Recommended McpPolicies for the Kestra MCP server, generated from the catalogue:
// - read-only: reads only; generators without auto_create; everything else denied with a reason.
// - balanced: reads; execute tools capped at 10 per minute per grant (the public recommendation for
//   resume/restart) and made to name their target; writes and deletes denied with reasons.
// Every level checks arguments as the tools declare them (`arguments: strict`: no type coercion), and
// states its argument rules as JSON Schema (targets non-empty, `auto_create` false), ADR 0012.
// - strict: reads that cannot leak stored values; execute tools need human approval and are capped.
// Multi-action tools are allowed only for the actions the level permits, by CEL on `args.action`.
// Tools that return stored values (KV entries, namespace files) get result rules: every level redacts
// secrets the detectors find in what they return; strict withholds such a result whole.
import { celLiteral } from "../conditions.ts";
import { API_GROUP, API_VERSION, KIND, type McpPolicyResourceType, type ToolRuleSpec } from "../schema.ts";
import { actionsOfRisk, KESTRA_TOOLS, type CatalogTool } from "./kestra.ts";

export const LEVELS = ["strict", "balanced", "read-only"] as const;
export type Level = (typeof LEVELS)[number];

/** How callers authenticate: service-account tokens of agents in the cluster, or API keys in a Secret. */
export const IDENTITIES = ["kubernetes", "api-keys"] as const;
export type IdentityChoice = (typeof IDENTITIES)[number];

/** The audience agents mint their service-account tokens for (the sidecar's default). */
export const TOKEN_AUDIENCE = "mcp-warden";

export interface RecommendedPolicy {
  resource: McpPolicyResourceType;
  /** A comment for each rule of `spec.tools`, by index. */
  comments: string[];
}

/** JSON Schemas of a target argument: present, of its type, and not empty (new objects: YAML would alias shared ones). */
const TARGET_SCHEMA = {
  id: () => ({ type: "string", minLength: 1 }),
  ids: () => ({ type: "array", minItems: 1, items: { type: "string", minLength: 1 } }),
} as const;

const EXECUTE_LIMIT = { window: "minute", max: 10, scope: "grant" as const };

export function recommendKestraPolicy(
  level: Level,
  name = "kestra",
  namespace?: string,
  identity: IdentityChoice = "kubernetes",
): RecommendedPolicy {
  const tools: ToolRuleSpec[] = [];
  const comments: string[] = [];
  for (const tool of KESTRA_TOOLS) {
    const rule = ruleFor(tool, level);
    tools.push(rule);
    comments.push(commentFor(tool, rule));
  }
  return {
    resource: {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: KIND,
      metadata: namespace ? { name, namespace } : { name },
      spec: {
        podSelector: { matchLabels: { app: name } },
        upstream: { path: "/mcp", profile: "kestra" },
        mode: "Enforce",
        injection: "Required",
        default: "deny",
        arguments: "strict",
        identity: {
          anonymous: false,
          ...(identity === "kubernetes"
            ? { kubernetes: { audiences: [TOKEN_AUDIENCE] } }
            : { apiKeys: { secretRef: { name: `${name}-api-keys`, key: "grants" } } }),
        },
        tools,
        // The Kestra MCP server serves tools only: a resource or prompt it gains later waits for review.
        resources: { default: "deny" },
        prompts: { default: "deny" },
      },
    },
    comments,
  };
}

function ruleFor(tool: CatalogTool, level: Level): ToolRuleSpec {
  if (tool.actions) return multiActionRule(tool, level);
  if (tool.autoCreate) {
    return {
      name: tool.name,
      action: "allow",
      // A schema, not CEL: `auto_create: "true"` or `1` is no boolean to CEL, but pydantic makes it true.
      arguments: { type: "object", properties: { auto_create: { type: "boolean", const: false } } },
      reason: `auto_create writes the generated result to Kestra; call ${tool.name} without auto_create and create it through a reviewed change.`,
    };
  }
  switch (tool.risk) {
    case "read":
      return tool.targets
        ? { name: tool.name, action: "allow", ...targetRule(tool) }
        : { name: tool.name, action: "allow" };
    case "execute":
      return executeRule(tool, level);
    case "write":
      return {
        name: tool.name,
        action: "deny",
        reason: `${tool.name} changes Kestra (${tool.summary.toLowerCase()}); this policy lets agents read only.`,
      };
    case "delete":
      return {
        name: tool.name,
        action: "deny",
        reason: `${tool.name} deletes data (${tool.summary.toLowerCase()}) and is never allowed for agents.`,
      };
  }
}

function executeRule(tool: CatalogTool, level: Level): ToolRuleSpec {
  if (level === "read-only") {
    return {
      name: tool.name,
      action: "deny",
      reason: `${tool.name} runs or changes executions; this policy lets agents read only.`,
    };
  }
  if (level === "balanced" && tool.name === "force_run_execution") {
    return {
      name: tool.name,
      action: "deny",
      reason: "force_run_execution bypasses Kestra's concurrency limits; use resume_execution instead.",
    };
  }
  return {
    name: tool.name,
    action: level === "strict" ? "approve" : "allow",
    // The Kestra server reports every failure (Kestra refused, unreachable, bad input) as an isError
    // result: such a call started nothing, so it does not use up the budget (docs/adr/0126).
    limits: [{ counter: `${tool.name}_rate`, ...EXECUTE_LIMIT, refundOn: ["upstreamError", "toolError"] }],
    ...targetRule(tool),
  };
}

/**
 * Every target argument required and non-empty, by JSON Schema: with `arguments: strict` the types are
 * the declared ones already, and the schema adds what the declaration allows but Kestra reads as
 * "not given" (a missing id, `""`, `[]`), after which it picks a target itself.
 */
function targetRule(tool: CatalogTool): Pick<ToolRuleSpec, "arguments" | "reason"> {
  const targets = Object.entries(tool.targets ?? {});
  if (targets.length === 0) return {};
  const names = targets.map(([name]) => name);
  const described = targets
    .map(([name, kind]) => (kind === "ids" ? `${name}, a non-empty list of ids` : name))
    .join(", ");
  const latest = tool.picksLatestTarget ? "; without it Kestra picks the latest one" : "";
  return {
    arguments: {
      type: "object",
      required: names,
      properties: Object.fromEntries(targets.map(([name, kind]) => [name, TARGET_SCHEMA[kind]()])),
    },
    reason: `${tool.name} must name its target (${described}; none empty)${latest}.`,
  };
}

function multiActionRule(tool: CatalogTool, level: Level): ToolRuleSpec {
  // Every level allows the read actions only; what differs is the stored values strict keeps back.
  let allowed = actionsOfRisk(tool, ["read"]);
  // Strict keeps stored values (KV values, file contents) away from agents.
  if (level === "strict" && tool.returnsStoredValues)
    allowed = allowed.filter((a) => a !== "get" && !(tool.name === "manage_kv_store" && a === "list"));
  const refused = Object.keys(tool.actions ?? {}).filter((a) => !allowed.includes(a));
  if (allowed.length === 0) {
    return {
      name: tool.name,
      action: "deny",
      reason: `${tool.name} has no action this policy allows (${refused.join(", ")}).`,
    };
  }
  const list = celLiteral(allowed).replaceAll('"', "'");
  const omitted =
    tool.defaultAction && allowed.includes(tool.defaultAction) ? "!has(args.action) || " : "has(args.action) && ";
  const target = targetRule(tool);
  // One reason per rule: it names the actions and, when there is one, the target to name.
  const also = target.reason ? `; it ${target.reason.slice(tool.name.length + 1)}` : ".";
  return {
    name: tool.name,
    action: "allow",
    require: [`${omitted}args.action in ${list}`],
    ...(target.arguments ? { arguments: target.arguments } : {}),
    reason: `${tool.name} is allowed only with action ${allowed.join(", ")}; ${refused.join(", ")} ${refused.length === 1 ? "is" : "are"} not allowed for agents${also}`,
    ...(tool.returnsStoredValues ? { results: storedValueResults(level) } : {}),
  };
}

/** Secrets in stored values: redacted, or at strict the whole result withheld. */
function storedValueResults(level: Level): NonNullable<ToolRuleSpec["results"]> {
  return level === "strict" ? { denyIf: ["secrets"] } : { redact: ["secrets"] };
}

function commentFor(tool: CatalogTool, rule: ToolRuleSpec): string {
  const risk = tool.actions
    ? Object.entries(tool.actions)
        .map(([a, r]) => `${a}=${r}`)
        .join(" ")
    : tool.autoCreate
      ? "read, write with auto_create"
      : tool.risk;
  const notes = [`${tool.summary} [${tool.group}: ${risk}]`];
  if (tool.returnsStoredValues)
    notes.push(
      rule.results?.denyIf
        ? "returns stored values: a result holding secrets is withheld"
        : rule.results
          ? "returns stored values: secrets in them are redacted"
          : "returns stored values verbatim: they may hold secrets",
    );
  if (tool.defaultAction) notes.push(`action defaults to ${tool.defaultAction} when omitted`);
  if (tool.picksLatestTarget && !rule.arguments) notes.push("acts on the latest target when ids are omitted");
  if (rule.action === "approve") notes.push("each call waits for a person's approval");
  return notes.join("; ");
}
