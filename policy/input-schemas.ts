// Arguments as the tool declared them: the `inputSchema` an MCP server lists for each tool, compiled to
// check a call's arguments exactly as declared, with no type coercion ("true" is not a boolean, 1 is
// not a boolean), no defaults filled in and nothing removed. Servers that coerce (pydantic, so FastMCP
// and the Kestra server) would otherwise act on values that the policy's rules, which compare types
// strictly, never saw as such. Used by `spec.arguments: strict` (ADR 0010).
//
// Every validator for a declared schema is made by `newDeclaredSchemaAjv`, with the policy's own
// pattern engine (RE2, bounded strings: `policy/json-schema.ts`).
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";
import type { Ajv2019 } from "ajv/dist/2019.js";
import type { Ajv2020 } from "ajv/dist/2020.js";
import type { Decision, ToolCall } from "./decision.ts";
import { re2RegExp } from "./json-schema.ts";
import { ajv2019Library, ajv2020Library, ajvLibrary } from "./libraries.ts";

/** What the sidecar knows about a tool's declared arguments: a validator, or why there is none. */
export type DeclaredSchema =
  { readonly validate: (args: unknown) => string | undefined } | { readonly problem: string };

/** Tool name → declared schema, as learnt from the upstream's tools/list; undefined when never listed. */
export interface DeclaredInputSchemas {
  lookup(tool: string): DeclaredSchema | undefined;
}

/** JSON Schema dialects a declared schema may name in `$schema` (MCP's default is 2020-12). */
type Dialect = "2020-12" | "2019-09" | "draft-07";

const DIALECTS: readonly [RegExp, Dialect][] = [
  [/^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/, "2020-12"],
  [/^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/, "2019-09"],
  [/^https?:\/\/json-schema\.org\/draft-07\/schema#?$/, "draft-07"],
];

/**
 * The Ajv for schemas a server declares (not the policy's own, which load in strict mode): unknown
 * keywords and formats are the server's business and ignored (formats are annotations in 2020-12);
 * what is checked is checked without coercion and without touching the arguments.
 * Patterns run on RE2 with the policy's string bound; formats are not checked at all.
 */
function newDeclaredSchemaAjv(dialect: Dialect): Ajv | Ajv2019 | Ajv2020 {
  const options = {
    strict: false,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    allErrors: false,
    validateFormats: false,
    logger: false as const,
    code: { regExp: re2RegExp },
  };
  // Ajv loads with the first declared schema to compile (policy/libraries.ts), not with the sidecar.
  const ajv =
    dialect === "2020-12"
      ? new (ajv2020Library().Ajv2020)(options)
      : dialect === "2019-09"
        ? new (ajv2019Library().Ajv2019)(options)
        : new (ajvLibrary().Ajv)(options);
  // uniqueItems compares every pair of items: quadratic in what the caller sends. It says nothing about
  // types (pydantic declares it for sets), so it is left to the server, never run in the sidecar.
  ajv.removeKeyword("uniqueItems");
  return ajv;
}

/** Compiled schemas kept per compiler before its Ajv instances are replaced (frees their caches). */
const COMPILED_LIMIT = 4096;

/**
 * Compiles declared input schemas, each distinct schema text once. `text` is the schema's JSON text
 * (the caller has it already, to notice changes).
 */
export function createDeclaredSchemaCompiler(): (schema: unknown, text: string) => DeclaredSchema {
  let instances = new Map<Dialect, ReturnType<typeof newDeclaredSchemaAjv>>();
  const compiled = new Map<string, DeclaredSchema>();
  return (schema, text) => {
    const known = compiled.get(text);
    if (known) return known;
    if (compiled.size >= COMPILED_LIMIT) {
      compiled.clear();
      instances = new Map();
    }
    const result = compileDeclared(schema, text, (dialect) => {
      let ajv = instances.get(dialect);
      if (!ajv) instances.set(dialect, (ajv = newDeclaredSchemaAjv(dialect)));
      return ajv;
    });
    compiled.set(text, result);
    return result;
  };
}

function compileDeclared(
  schema: unknown,
  text: string,
  ajvFor: (d: Dialect) => ReturnType<typeof newDeclaredSchemaAjv>,
): DeclaredSchema {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema))
    return { problem: "the tool's inputSchema is not a JSON Schema object" };
  const { $schema, ...rest } = schema as Record<string, unknown>;
  const dialect =
    $schema === undefined
      ? "2020-12"
      : DIALECTS.find(([pattern]) => typeof $schema === "string" && pattern.test($schema))?.[1];
  if (dialect === undefined)
    return {
      problem: `the tool's inputSchema uses the JSON Schema dialect ${JSON.stringify($schema)}, which the sidecar cannot check`,
    };
  // Schemas with their own ids would collide with each other in a shared instance.
  const ajv = /"\$(id|anchor|dynamicAnchor)"/.test(text) ? newDeclaredSchemaAjv(dialect) : ajvFor(dialect);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(rest);
  } catch (err) {
    return { problem: `the tool's inputSchema cannot be checked: ${(err as Error).message}` };
  }
  return {
    validate: (args) => (validate(args) ? undefined : describeErrors(validate.errors ?? [], args)),
  };
}

/**
 * The declared schemas of a saved tools/list answer (`{tools: [...]}`, or the JSON-RPC response around
 * it), for offline checks (`policy test --tools`, `policy explain --tools`).
 */
export function declaredSchemasOf(document: unknown): DeclaredInputSchemas | { problem: string } {
  const root = document as { tools?: unknown; result?: { tools?: unknown } } | null;
  const tools = root?.tools ?? root?.result?.tools;
  if (!Array.isArray(tools))
    return { problem: "is not a tools/list result: no tools array (as `tools` or `result.tools`)" };
  const compile = createDeclaredSchemaCompiler();
  const byName = new Map<string, DeclaredSchema>();
  for (const tool of tools as unknown[]) {
    const { name, inputSchema } = (tool ?? {}) as { name?: unknown; inputSchema?: unknown };
    if (typeof name !== "string") return { problem: "has a tool without a name" };
    byName.set(
      name,
      inputSchema === undefined
        ? { problem: "the tool declares no inputSchema" }
        : compile(inputSchema, JSON.stringify(inputSchema)),
    );
  }
  return { lookup: (tool) => byName.get(tool) };
}

/**
 * The strict-arguments check (`spec.arguments: strict`): undefined when the call's arguments validate
 * against the tool's declared inputSchema, else the denial. A tool whose schema is unknown, or cannot
 * be checked, is denied (fail closed).
 */
export function checkDeclaredArguments(
  call: ToolCall,
  declared: DeclaredInputSchemas,
  rule: string,
): Decision | undefined {
  const schema = declared.lookup(call.tool);
  if (schema === undefined) {
    return {
      decision: "denied",
      reason: "input_schema_unknown",
      message:
        `Call to '${call.tool}' denied: the policy checks arguments against the tool's declared inputSchema, and the MCP server ` +
        `has not listed '${call.tool}' to the sidecar yet. Call tools/list, then retry in a few seconds; if the tool is not listed, it does not exist.`,
      rule,
    };
  }
  if ("problem" in schema) {
    return {
      decision: "denied",
      reason: "input_schema_unknown",
      message: `Call to '${call.tool}' denied: ${schema.problem}, and the policy requires arguments checked against it. Ask an operator.`,
      rule,
    };
  }
  const problem = schema.validate(call.args);
  if (problem === undefined) return undefined;
  return {
    decision: "denied",
    reason: "input_schema_mismatch",
    message:
      `Arguments of '${call.tool}' do not match the inputSchema the tool declares: ${problem}. ` +
      'Send each argument with the declared type (true, not "true" or 1; ["a"], not "a") and retry.',
    rule,
  };
}

/** One sentence naming the argument and what it must be; Ajv stops at the first failure. */
export function describeErrors(errors: readonly ErrorObject[], args: unknown): string {
  const last = errors.at(-1);
  if (!last) return "the arguments are invalid";
  const where = last.instancePath;
  const subject = argumentName(where);
  const value = valueAt(args, where);
  switch (last.keyword) {
    case "required":
      return `${argumentName(`${where}/${escapePointer(String(last.params.missingProperty))}`)} is required`;
    case "additionalProperties":
      return `${argumentName(`${where}/${escapePointer(String(last.params.additionalProperty))}`)} is not declared by the tool`;
    case "type":
      return `${subject} must be ${article(String(last.params.type))}, not ${describeValue(value)}`;
    case "anyOf":
    case "oneOf": {
      // A branch that matched the value's type and failed inside it says the most.
      const deeper = errors.slice(0, -1).filter((e) => e.instancePath.startsWith(`${where}/`));
      if (deeper.length > 0) return describeErrors(deeper, args);
      const types = errors
        .filter((e) => e.keyword === "type" && e.instancePath === where)
        .map((e) => String(e.params.type));
      if (types.length > 0)
        return `${subject} must be ${[...new Set(types)].map(article).join(" or ")}, not ${describeValue(value)}`;
      return `${subject} (${describeValue(value)}) matches none of the forms the tool declares`;
    }
    case "enum":
      return `${subject} must be one of ${(last.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}, not ${describeValue(value)}`;
    case "const":
      return `${subject} must be ${JSON.stringify(last.params.allowedValue)}, not ${describeValue(value)}`;
    default:
      return `${subject} ${last.message ?? "is invalid"}`;
  }
}

/** `/labels/0/name` → `argument labels[0].name`; the root is "the arguments". */
function argumentName(pointer: string): string {
  if (pointer === "") return "the arguments";
  const segments = pointer
    .slice(1)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  const [first, ...rest] = segments;
  return `argument ${first}${rest.map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join("")}`;
}

function escapePointer(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

function valueAt(args: unknown, pointer: string): unknown {
  if (pointer === "") return args;
  let value = args;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function article(type: string): string {
  return type === "null" ? "null" : `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}

/** The JSON type of a value, and the value itself when it is short (the agent sent it). */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : `an array of ${value.length}`;
  switch (typeof value) {
    case "string":
      return value.length <= 32 ? `the string ${JSON.stringify(value)}` : "a string";
    case "number":
      return `the number ${value}`;
    case "boolean":
      return `the boolean ${value}`;
    case "object":
      return "an object";
    default:
      return "nothing";
  }
}
