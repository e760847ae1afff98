// Turns a zod schema into the structural OpenAPI v3 schema a CustomResourceDefinition needs: every
// node typed, no $ref, no unions, no `additionalProperties: false` (the API server prunes and, with
// kubectl's strict field validation, rejects unknown fields itself), free-form maps marked
// `x-kubernetes-preserve-unknown-fields`. Anything the API server would refuse is an error here, with
// the path of the offending node, so a schema change cannot silently produce an unusable CRD.
import { z } from "zod";

export type JsonSchemaProps = { [keyword: string]: unknown };

/** Keywords copied as they are; everything else is either translated below or refused. */
const PASSTHROUGH = new Set([
  "type",
  "description",
  "required",
  "enum",
  "default",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "nullable",
  "example",
]);

export class StructuralSchemaError extends Error {
  override name = "StructuralSchemaError";
}

export function toStructuralSchema(schema: z.ZodType): JsonSchemaProps {
  const json = z.toJSONSchema(schema, {
    target: "openapi-3.0",
    io: "input",
    unrepresentable: "throw",
  }) as JsonSchemaProps;
  delete json.$schema;
  return convert(json, "");
}

function convert(node: JsonSchemaProps, path: string): JsonSchemaProps {
  const out: JsonSchemaProps = {};
  for (const [keyword, value] of Object.entries(node)) {
    if (PASSTHROUGH.has(keyword) || keyword.startsWith("x-kubernetes-")) {
      out[keyword] = value;
    } else if (keyword === "properties") {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchemaProps>).map(([name, child]) => [
          name,
          convert(child, `${path}.${name}`),
        ]),
      );
    } else if (keyword === "items") {
      if (Array.isArray(value)) throw new StructuralSchemaError(`${path || "(root)"}: tuple items are not structural`);
      out.items = convert(value as JsonSchemaProps, `${path}[*]`);
    } else if (keyword === "additionalProperties") {
      if (value === false) continue; // closed objects: the API server prunes unknown fields
      if (value === true || isEmptySchema(value)) {
        out["x-kubernetes-preserve-unknown-fields"] = true;
        continue;
      }
      out.additionalProperties = convert(value as JsonSchemaProps, `${path}[*]`);
    } else {
      throw new StructuralSchemaError(
        `${path || "(root)"}: JSON Schema keyword "${keyword}" cannot be used in a CRD schema`,
      );
    }
  }
  // A string with a format needs no zod-made pattern on top of it (the API server checks formats).
  if (out.format === "date-time") delete out.pattern;
  // zod marks every integer with the safe-integer range; that is a representation, not a bound.
  if (out.type === "integer") {
    if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
    if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
  }
  if (
    out.type === undefined &&
    out["x-kubernetes-preserve-unknown-fields"] !== true &&
    out["x-kubernetes-int-or-string"] !== true
  ) {
    if (Object.keys(out).every((k) => k === "description"))
      return { ...out, "x-kubernetes-preserve-unknown-fields": true };
    throw new StructuralSchemaError(`${path || "(root)"}: every node of a structural schema needs a type`);
  }
  if (
    out.type === "object" &&
    out.properties !== undefined &&
    out["x-kubernetes-preserve-unknown-fields"] === true &&
    out.additionalProperties !== undefined
  ) {
    throw new StructuralSchemaError(`${path}: properties and additionalProperties cannot be combined`);
  }
  return out;
}

function isEmptySchema(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.keys(value).length === 0;
}
