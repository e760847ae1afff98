// A tool definition's digest: what a pin in `spec.pins.tools` names. SHA-256 over the RFC 8785
// canonical JSON of the fields of a tools/list entry that steer a model or an app (ADR 0130):
// name, title, description, inputSchema, outputSchema, annotations and _meta. A field the server does
// not send is left out of the digested object (absent and null differ: null is a value a server sent).
// Fields outside this list (icons, execution and whatever later revisions add) do not change it.
import { createHash } from "node:crypto";
import { canonicalJson } from "../approval/canonical-json.ts";

export const DIGESTED_FIELDS = [
  "name",
  "title",
  "description",
  "inputSchema",
  "outputSchema",
  "annotations",
  "_meta",
] as const;
export type DigestedField = (typeof DIGESTED_FIELDS)[number];

/** How a digest is written in a policy: `sha256:` and 64 lower-case hex digits. */
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
export const DIGEST_PREFIX = "sha256:";

/** The digested part of a tools/list entry: the listed fields it has, nothing else. */
export function digestedDefinition(tool: unknown): Partial<Record<DigestedField, unknown>> {
  if (typeof tool !== "object" || tool === null || Array.isArray(tool))
    throw new TypeError("a tool definition is a JSON object");
  const picked: Partial<Record<DigestedField, unknown>> = {};
  for (const field of DIGESTED_FIELDS) {
    if (Object.hasOwn(tool, field) && (tool as Record<string, unknown>)[field] !== undefined)
      picked[field] = (tool as Record<string, unknown>)[field];
  }
  return picked;
}

/** `sha256:<hex>` of the tool's digested fields. */
export function definitionDigest(tool: unknown): string {
  return (
    DIGEST_PREFIX +
    createHash("sha256")
      .update(canonicalJson(digestedDefinition(tool)), "utf8")
      .digest("hex")
  );
}

/** The digest of a definition whose fields cannot be digested (not JSON-representable): never a pin's. */
export function safeDefinitionDigest(tool: unknown): string | undefined {
  try {
    return definitionDigest(tool);
  } catch {
    return undefined;
  }
}
