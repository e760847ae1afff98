// JSON Schema (draft 2020-12, the MCP default dialect) for tool arguments, compiled once per policy.
// Patterns run on RE2, so a caller's argument can never make validation backtrack.
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsPlugin from "ajv-formats";
import { compileRe2 } from "./cel/environment.ts";

export type ArgumentsValidator = (args: unknown) => string | undefined;

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => void;

const re2RegExp = Object.assign((pattern: string) => compileRe2(pattern), { code: "re2" });

/** One compiler per policy version, so a reload frees the previous version's compiled schemas. */
export function createArgumentsCompiler(): (schema: Record<string, unknown>) => ArgumentsValidator | { problem: string } {
  const ajv = new Ajv2020({ strict: true, allErrors: false, code: { regExp: re2RegExp } });
  addFormats(ajv);
  // Policies often repeat one schema across many tools; compile each distinct schema once.
  const compiled = new Map<string, ArgumentsValidator | { problem: string }>();
  return (schema) => {
    const key = JSON.stringify(schema);
    let result = compiled.get(key);
    if (result === undefined) {
      result = compileOne(schema);
      compiled.set(key, result);
    }
    return result;
  };

  function compileOne(schema: Record<string, unknown>): ArgumentsValidator | { problem: string } {
    let validate: ReturnType<typeof ajv.compile>;
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      return { problem: `invalid JSON Schema: ${(err as Error).message}` };
    }
    return (args) => {
      if (validate(args)) return undefined;
      const first = validate.errors?.[0];
      if (!first) return "arguments do not match the schema";
      return `${first.instancePath === "" ? "arguments" : first.instancePath} ${first.message ?? "are invalid"}`;
    };
  }
}
