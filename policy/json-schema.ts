// JSON Schema validation that cannot stall the sidecar: the one place that configures Ajv for
// schemas applied to callers' arguments (a policy's `arguments`, a tool's declared inputSchema).
// - `pattern`/`patternProperties` run on RE2 (linear time); a pattern RE2 cannot compile is a load error.
// - `format`s run on RE2 (./json-schema-formats.ts) and only on strings of at most 8 KiB.
// - `pattern`s only see strings of at most 64 KiB.
// - Constructs whose cost grows faster than the arguments are refused at load (`schemaProblems`):
//   `uniqueItems` over items not declared scalar, recursive or exponentially expanding `$ref`s.
// ADR 0007 records what was considered and why.
import type { Ajv2020, ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { ajv2020Library, re2Library } from "./libraries.ts";
import { compileRe2Search } from "./re2-search.ts";
import { MAX_FORMAT_STRING_LENGTH, SAFE_FORMATS, WARM_UP_INPUTS, warmSafeFormats } from "./json-schema-formats.ts";
import type { DocPath, PolicyProblem } from "./paths.ts";

export { MAX_FORMAT_STRING_LENGTH };

/**
 * The longest string a `pattern` is matched against. RE2 is linear, but this RE2 is JavaScript
 * (~0.2-0.4 µs a character): 64 KiB costs a few milliseconds, a 4 MiB body would cost a second.
 */
export const MAX_PATTERN_STRING_LENGTH = 65536;

/** Subschemas a schema may expand to through `$ref`s; beyond it a schema is refused at load. */
export const MAX_EXPANDED_SUBSCHEMAS = 10_000;

/**
 * What Ajv calls to build a pattern (its `code.regExp` option): RE2, and a too-long string does not
 * match. Shared by the policy's own schemas and the tools' declared ones.
 */
export const re2RegExp = Object.assign(
  (pattern: string) => {
    const search = compileRe2Search(pattern);
    for (const input of WARM_UP_INPUTS) search(input); // see warmSafeFormats
    return {
      test: (value: string) => value.length <= MAX_PATTERN_STRING_LENGTH && search(value),
      // Ajv keys its compiled patterns by this text: one per pattern.
      toString: () => `re2(${JSON.stringify(pattern)})`,
    };
  },
  { code: "re2" },
);

export interface SafeAjvOptions {
  /**
   * Strict mode (default): an unknown keyword or format is an error, as it is a mistake in a policy.
   * Schemas the sidecar does not write (a tool's declared inputSchema) may need `false`: unknown
   * keywords are then ignored, which costs nothing. Safety does not depend on it.
   */
  readonly strict?: boolean;
}

/**
 * An Ajv (draft 2020-12, the MCP default dialect) stopping at the first error: `allErrors` would let
 * `uniqueItems` compare items that `items` has already rejected. Compile only schemas
 * `schemaProblems` found nothing wrong with. It never logs (stderr is the sidecar's JSON log).
 */
export function createSafeAjv(options: SafeAjvOptions = {}): Ajv2020 {
  const ajv = new (ajv2020Library().Ajv2020)({
    strict: options.strict ?? true,
    allErrors: false,
    logger: false,
    code: { regExp: re2RegExp },
  });
  for (const [name, format] of Object.entries(SAFE_FORMATS)) ajv.addFormat(name, format);
  warmSafeFormats();
  return ajv;
}

const SCALAR_TYPES = new Set(["string", "number", "integer", "boolean", "null"]);
const SUBSCHEMA_MAPS = ["$defs", "definitions", "properties", "patternProperties", "dependentSchemas"] as const;
const SUBSCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "prefixItems"] as const;
const SUBSCHEMA_SINGLE = [
  "items",
  "additionalItems",
  "contains",
  "additionalProperties",
  "propertyNames",
  "not",
  "if",
  "then",
  "else",
  "unevaluatedItems",
  "unevaluatedProperties",
] as const;

/**
 * Problems of a schema applied to callers' arguments that Ajv would accept, each with the path of
 * the field (under `path`, where the schema sits in its document). Empty when the schema is safe.
 */
export function schemaProblems(schema: unknown, path: DocPath): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  walk(schema, path, (node, at) => {
    checkPatterns(node, at, problems);
    checkUniqueItems(node, at, problems);
    checkReferenceKeywords(node, at, problems);
    // An embedded $id starts a new resource whose "#/…" references resolve inside it: the checks
    // below resolve against the root, so a cycle could hide behind one.
    if (node !== schema && "$id" in node)
      problems.push({ path: [...at, "$id"], message: "$id is only supported on the root schema" });
  });
  if (problems.length === 0) checkExpansion(schema, path, problems);
  return problems;
}

type Visit = (node: Record<string, unknown>, at: DocPath) => void;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every subschema, with its path (boolean schemas have nothing to check). */
function walk(node: unknown, at: DocPath, visit: Visit): void {
  if (!isObject(node)) return;
  visit(node, at);
  for (const keyword of SUBSCHEMA_MAPS) {
    const map = node[keyword];
    if (isObject(map)) for (const [name, sub] of Object.entries(map)) walk(sub, [...at, keyword, name], visit);
  }
  for (const keyword of SUBSCHEMA_LISTS) {
    const list = node[keyword];
    if (Array.isArray(list)) list.forEach((sub, i) => walk(sub, [...at, keyword, i], visit));
  }
  for (const keyword of SUBSCHEMA_SINGLE) walk(node[keyword], [...at, keyword], visit);
}

function re2Problem(pattern: unknown): string | undefined {
  if (typeof pattern !== "string") return undefined; // Ajv reports the wrong type
  try {
    re2Library().compile(pattern);
    return undefined;
  } catch (err) {
    return (
      `pattern ${JSON.stringify(pattern)} is not an RE2 regular expression (${(err as Error).message}); ` +
      `patterns run on RE2 so that no argument can make them backtrack: backreferences and lookaround are not available`
    );
  }
}

function checkPatterns(node: Record<string, unknown>, at: DocPath, problems: PolicyProblem[]): void {
  const own = re2Problem(node["pattern"]);
  if (own) problems.push({ path: [...at, "pattern"], message: own });
  const patternProperties = node["patternProperties"];
  if (isObject(patternProperties)) {
    for (const key of Object.keys(patternProperties)) {
      const problem = re2Problem(key);
      if (problem) problems.push({ path: [...at, "patternProperties", key], message: problem });
    }
  }
}

/** Whether a schema only admits scalars by its own `type`, `enum` or `const` (what Ajv can see). */
function declaredScalar(schema: unknown): boolean {
  if (!isObject(schema)) return false;
  const type = schema["type"];
  const types = typeof type === "string" ? [type] : Array.isArray(type) ? type : [];
  if (types.length > 0) return types.every((t) => typeof t === "string" && SCALAR_TYPES.has(t));
  const isScalar = (value: unknown) => value === null || typeof value !== "object";
  if ("const" in schema) return isScalar(schema["const"]);
  const values = schema["enum"];
  return Array.isArray(values) && values.every(isScalar);
}

/**
 * `uniqueItems` compares every pair of items (deep equality) unless Ajv knows the items are scalars
 * from `items.type`, then it indexes them in one pass. `enum`/`const` of scalars are accepted too:
 * `items` runs first (no `allErrors`), so the pairwise loop only sees as many distinct values as the
 * enum has. `items: false` bounds the array to its `prefixItems`.
 */
function checkUniqueItems(node: Record<string, unknown>, at: DocPath, problems: PolicyProblem[]): void {
  if (node["uniqueItems"] !== true) return;
  const items = node["items"];
  const prefixItems = node["prefixItems"];
  const boundedByPrefix = items === false && Array.isArray(prefixItems);
  const prefixScalar = !Array.isArray(prefixItems) || prefixItems.every(declaredScalar);
  if (boundedByPrefix || (declaredScalar(items) && prefixScalar)) return;
  problems.push({
    path: [...at, "uniqueItems"],
    message:
      "uniqueItems needs items declared scalar (items with a type among string, number, integer, boolean, null, " +
      "or an enum/const of scalars): over other items it compares every pair, which grows with the square of the arguments",
  });
}

function checkReferenceKeywords(node: Record<string, unknown>, at: DocPath, problems: PolicyProblem[]): void {
  for (const keyword of ["$dynamicRef", "$recursiveRef"]) {
    if (keyword in node)
      problems.push({ path: [...at, keyword], message: `${keyword} is not supported: use $ref to a local definition` });
  }
  const ref = node["$ref"];
  if (ref !== undefined && (typeof ref !== "string" || !(ref === "#" || ref.startsWith("#/")))) {
    problems.push({
      path: [...at, "$ref"],
      message: `only local references ("#" or "#/...") are supported, not ${JSON.stringify(ref)}`,
    });
  }
}

/**
 * A schema's work per argument grows with the number of subschemas it expands to: a `$ref` cycle
 * (a recursive schema) or definitions that each use the next twice (2^n) are refused.
 */
function checkExpansion(root: unknown, path: DocPath, problems: PolicyProblem[]): void {
  const sizes = new Map<string, number>();
  const inProgress = new Set<string>();
  let refused = false;
  const refuse = (at: DocPath, message: string) => {
    if (!refused) problems.push({ path: at, message });
    refused = true;
    return Infinity;
  };
  const sizeOf = (node: unknown, at: DocPath): number => {
    if (!isObject(node) || refused) return 1;
    let size = 1;
    const ref = node["$ref"];
    if (typeof ref === "string") size += sizeOfRef(ref, [...at, "$ref"]);
    const children: [unknown, DocPath][] = [];
    for (const keyword of SUBSCHEMA_MAPS) {
      if (keyword === "$defs" || keyword === "definitions") continue; // counted where referenced
      const map = node[keyword];
      if (isObject(map)) for (const [name, sub] of Object.entries(map)) children.push([sub, [...at, keyword, name]]);
    }
    for (const keyword of SUBSCHEMA_LISTS) {
      const list = node[keyword];
      if (Array.isArray(list)) list.forEach((sub, i) => children.push([sub, [...at, keyword, i]]));
    }
    for (const keyword of SUBSCHEMA_SINGLE)
      if (node[keyword] !== undefined) children.push([node[keyword], [...at, keyword]]);
    for (const [child, childAt] of children) {
      size += sizeOf(child, childAt);
      if (size > MAX_EXPANDED_SUBSCHEMAS)
        return refuse(childAt, `the schema expands to more than ${MAX_EXPANDED_SUBSCHEMAS} subschemas through $ref`);
    }
    return size;
  };
  const sizeOfRef = (ref: string, at: DocPath): number => {
    const known = sizes.get(ref);
    if (known !== undefined) return known;
    if (inProgress.has(ref))
      return refuse(
        at,
        `recursive schema: ${JSON.stringify(ref)} refers back to itself; recursive schemas are not supported`,
      );
    const segments = pointerSegments(ref);
    const target = resolve(root, segments);
    if (target === undefined) return 1; // Ajv reports the unresolvable reference
    inProgress.add(ref);
    // Problems inside a definition are located where it is written, not where it is used.
    const size = sizeOf(target, [...path, ...segments]);
    inProgress.delete(ref);
    sizes.set(ref, size);
    return size;
  };
  sizeOf(root, path);
}

function pointerSegments(ref: string): string[] {
  if (ref === "#") return [];
  return ref
    .slice(2)
    .split("/")
    .map((raw) => decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~"));
}

function resolve(root: unknown, segments: readonly string[]): unknown {
  let node = root;
  for (const key of segments) {
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node)) node = node[key];
    else return undefined;
  }
  return node;
}

/** The first error of a failed validation, for the agent: where, and what is wrong. */
export function describeFirstError(validate: ValidateFunction, data: unknown): string {
  const first: ErrorObject | undefined = validate.errors?.[0];
  if (!first) return "arguments do not match the schema";
  const where = first.instancePath === "" ? "arguments" : first.instancePath;
  return `${where} ${tooLongMessage(first, data) ?? first.message ?? "are invalid"}`;
}

/** A format or pattern that failed because the string is past its bound says so. */
function tooLongMessage(error: ErrorObject, data: unknown): string | undefined {
  const bound =
    error.keyword === "format"
      ? MAX_FORMAT_STRING_LENGTH
      : error.keyword === "pattern"
        ? MAX_PATTERN_STRING_LENGTH
        : undefined;
  if (bound === undefined) return undefined;
  const value = valueAt(data, error.instancePath);
  if (typeof value !== "string" || value.length <= bound) return undefined;
  const what = error.keyword === "format" ? `format "${String(error.params["format"])}"` : "a pattern";
  return `is ${value.length} characters long: at most ${bound} are checked against ${what}`;
}

function valueAt(data: unknown, instancePath: string): unknown {
  if (instancePath === "") return data;
  const segments = instancePath
    .slice(1)
    .split("/")
    .map((raw) => raw.replaceAll("~1", "/").replaceAll("~0", "~"));
  return resolve(data, segments);
}
