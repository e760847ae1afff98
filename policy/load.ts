// Reads a policy document (McpPolicy YAML or JSON, or a PolicyLayer v1 JSON document) into a
// validated McpPolicy spec plus what is needed to report problems in the document's own terms.
import { parseDocument } from "yaml";
import type { z } from "zod";
import { convertPolicyLayer, isPolicyLayerDocument, PolicyLayerDocument } from "./policylayer.ts";
import { PolicyError, type DocPath, type PolicyProblem } from "./paths.ts";
import { McpPolicyResource, McpPolicySpec, type McpPolicySpecType } from "./schema.ts";

export type PolicyFormat = "McpPolicy" | "PolicyLayer";

export interface LoadedPolicy {
  format: PolicyFormat;
  /** `namespace/name` for an McpPolicy, the given source name for a PolicyLayer document. */
  name: string;
  generation: number | undefined;
  spec: McpPolicySpecType;
  /** Maps a location in the spec to the same place in the document as written. */
  docPath: (specPath: DocPath) => DocPath;
  warnings: PolicyProblem[];
  /** Problems found while converting the document; compilation reports them with its own. */
  problems: PolicyProblem[];
}

/** Size and depth bounds: a policy is configuration, never megabytes or hundreds of levels deep. */
const MAX_POLICY_BYTES = 4 * 1024 * 1024;

export function parsePolicyText(text: string, sourceName: string): LoadedPolicy {
  if (text.length > MAX_POLICY_BYTES) {
    throw new PolicyError([{ path: [], message: `document is larger than ${MAX_POLICY_BYTES} bytes` }]);
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new PolicyError(doc.errors.map((e) => ({ path: [], message: `invalid YAML/JSON: ${e.message}` })));
  }
  return loadPolicyObject(doc.toJS({ maxAliasCount: 100 }) as unknown, sourceName);
}

export function loadPolicyObject(raw: unknown, sourceName: string): LoadedPolicy {
  if (isPolicyLayerDocument(raw)) {
    const parsed = PolicyLayerDocument.safeParse(raw);
    if (!parsed.success) throw new PolicyError(zodProblems(parsed.error, []));
    const converted = convertPolicyLayer(parsed.data);
    return {
      format: "PolicyLayer",
      name: sourceName,
      generation: undefined,
      spec: converted.spec,
      docPath: converted.docPath,
      warnings: converted.warnings,
      problems: converted.problems,
    };
  }
  const parsed = McpPolicyResource.safeParse(raw);
  if (!parsed.success) throw new PolicyError(zodProblems(parsed.error, []));
  const meta = parsed.data.metadata;
  return {
    format: "McpPolicy",
    name: meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name,
    generation: meta.generation,
    spec: parsed.data.spec,
    docPath: (specPath) => ["spec", ...specPath],
    warnings: [],
    problems: [],
  };
}

/** Validates a bare spec, as the operator and the Kubernetes policy source receive it. */
export function loadPolicySpec(spec: unknown, name: string, generation?: number): LoadedPolicy {
  const parsed = McpPolicySpec.safeParse(spec);
  if (!parsed.success) throw new PolicyError(zodProblems(parsed.error, ["spec"]));
  return {
    format: "McpPolicy",
    name,
    generation,
    spec: parsed.data,
    docPath: (p) => ["spec", ...p],
    warnings: [],
    problems: [],
  };
}

function zodProblems(error: z.ZodError, prefix: DocPath): PolicyProblem[] {
  return error.issues.map((issue) => {
    const path: DocPath = [...prefix, ...issue.path.map((s) => (typeof s === "symbol" ? String(s) : s))];
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => `"${k}"`).join(", ");
      return { path, message: `unknown field${issue.keys.length > 1 ? "s" : ""} ${keys}` };
    }
    if (issue.code === "invalid_union")
      return { path, message: "must be a CEL string or a {path, op, value} condition" };
    return { path, message: issue.message };
  });
}
