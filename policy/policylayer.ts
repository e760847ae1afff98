// PolicyLayer v1 documents, accepted as they are and converted to an McpPolicy spec, so both shapes
// compile to one internal model. The converter also maps spec locations back to the document's own
// (`spec.tools[0].denyIf[1]` → `tools.create_charge.deny_if[1]`) so errors and deciding rules name
// what the user wrote.
import { z } from "zod";
import { Condition, conditionToCel } from "./conditions.ts";
import type { DocPath, PolicyProblem } from "./paths.ts";
import { WINDOW_PATTERN, type McpPolicySpecType, type ToolRuleSpec } from "./schema.ts";

const PolicyLayerLimit = z.strictObject({
  counter: z.string().min(1).max(128),
  window: z.string().regex(WINDOW_PATTERN, "must be second, minute, hour, day or a duration such as 90s, 15m"),
  max: z.int().min(1).max(1_000_000),
  scope: z.enum(["grant", "session", "global"]).default("grant"),
  refund_on_error: z.boolean().default(true),
});

const Predicate = z.union([z.string().min(1).max(4096), Condition]);

const PolicyLayerTool = z.strictObject({
  description: z.string().optional(),
  action: z.enum(["allow", "deny", "approve"]).optional(),
  require: z.array(Predicate).max(32).optional(),
  deny_if: z.array(Predicate).max(32).optional(),
  limits: z.array(PolicyLayerLimit).max(16).optional(),
  on_deny: z.string().max(1024).optional(),
  reason: z.string().max(1024).optional(),
  arguments: z.record(z.string(), z.unknown()).optional(),
});

export const PolicyLayerDocument = z.strictObject({
  version: z.literal("1", { error: 'version must be "1"' }),
  description: z.string().optional(),
  default: z.enum(["allow", "deny"]).optional(),
  /** mcp-warden's extension (as `arguments` on a tool is): spec.arguments of the McpPolicy. */
  arguments: z.enum(["strict", "rules"]).optional(),
  hide: z.array(z.string().min(1).max(256)).max(1024).optional(),
  all_tools: z.strictObject({ limits: z.array(PolicyLayerLimit).max(16).optional() }).optional(),
  tools: z.record(z.string().min(1).max(256), PolicyLayerTool).optional(),
});
export type PolicyLayerDocumentType = z.infer<typeof PolicyLayerDocument>;

export function isPolicyLayerDocument(doc: unknown): boolean {
  return typeof doc === "object" && doc !== null && !Array.isArray(doc) && "version" in doc && !("apiVersion" in doc);
}

export interface ConvertedPolicyLayer {
  spec: McpPolicySpecType;
  /** Maps a location in the spec to the same place in the PolicyLayer document. */
  docPath: (specPath: DocPath) => DocPath;
  problems: PolicyProblem[];
  warnings: PolicyProblem[];
}

export function convertPolicyLayer(doc: PolicyLayerDocumentType): ConvertedPolicyLayer {
  const problems: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];
  const toolNames = Object.keys(doc.tools ?? {});

  const predicates = (name: string, field: "require" | "deny_if", list: z.infer<typeof Predicate>[] | undefined) =>
    list?.map((p, i) => {
      if (typeof p === "string") return p;
      const converted = conditionToCel(p);
      if ("problem" in converted) {
        problems.push({ path: ["tools", name, field, i], message: converted.problem });
        return "false";
      }
      return converted.cel;
    });

  const tools: ToolRuleSpec[] = toolNames.map((name) => {
    const t = doc.tools?.[name] ?? {};
    const limits = t.limits?.map(convertLimit);
    const require = predicates(name, "require", t.require);
    const denyIf = predicates(name, "deny_if", t.deny_if);
    const rule: ToolRuleSpec = { name, action: t.action ?? "allow" };
    const reason = t.on_deny ?? t.reason;
    if (reason !== undefined) rule.reason = reason;
    if (limits?.length) rule.limits = limits;
    if (require?.length) rule.require = require;
    if (denyIf?.length) rule.denyIf = denyIf;
    if (t.arguments) rule.arguments = t.arguments;
    return rule;
  });

  if (doc.default === undefined) {
    warnings.push({ path: ["default"], message: "not set: tools no rule names are denied (mcp-warden fails closed)" });
  }
  const spec: McpPolicySpecType = { mode: "Enforce", default: doc.default ?? "deny", tools };
  if (doc.hide) spec.hide = doc.hide;
  if (doc.arguments) spec.arguments = doc.arguments;
  const allLimits = doc.all_tools?.limits?.map(convertLimit);
  if (allLimits?.length) spec.allTools = { limits: allLimits };

  const reasonField = (name: string): string => (doc.tools?.[name]?.on_deny !== undefined ? "on_deny" : "reason");
  const docPath = (specPath: DocPath): DocPath => {
    const [head, ...rest] = specPath;
    if (head === "allTools") return ["all_tools", ...rest];
    if (head !== "tools" || typeof rest[0] !== "number") return specPath;
    const name = toolNames[rest[0]] ?? String(rest[0]);
    const [field, ...tail] = rest.slice(1);
    if (field === undefined) return ["tools", name];
    const renamed = field === "denyIf" ? "deny_if" : field === "reason" ? reasonField(name) : field;
    return ["tools", name, renamed, ...tail];
  };
  return { spec, docPath, problems, warnings };
}

function convertLimit(l: z.infer<typeof PolicyLayerLimit>) {
  return { counter: l.counter, window: l.window, max: l.max, scope: l.scope, refundOnError: l.refund_on_error };
}
