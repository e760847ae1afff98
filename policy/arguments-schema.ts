// JSON Schema (draft 2020-12, the MCP default dialect) for tool arguments, compiled once per policy
// on the safe Ajv of ./json-schema.ts: no argument can make validation backtrack or go quadratic.
import type { Ajv2020 } from "ajv/dist/2020.js";
import { createSafeAjv, describeFirstError, schemaProblems } from "./json-schema.ts";
import type { PolicyProblem } from "./paths.ts";

export type ArgumentsValidator = (args: unknown) => string | undefined;

/** Problems located relative to the `arguments` field. */
export type ArgumentsCompileResult = ArgumentsValidator | { problems: PolicyProblem[] };

/** One compiler per policy version, so a reload frees the previous version's compiled schemas. */
export function createArgumentsCompiler(): (schema: Record<string, unknown>) => ArgumentsCompileResult {
  // Made with the first schema: a policy without `arguments` never loads Ajv (policy/libraries.ts).
  let ajv: Ajv2020 | undefined;
  // Policies often repeat one schema across many tools; compile each distinct schema once.
  const compiled = new Map<string, ArgumentsCompileResult>();
  return (schema) => {
    const key = JSON.stringify(schema);
    let result = compiled.get(key);
    if (result === undefined) {
      result = compileOne(schema);
      compiled.set(key, result);
    }
    return result;
  };

  function compileOne(schema: Record<string, unknown>): ArgumentsCompileResult {
    const problems = schemaProblems(schema, []);
    if (problems.length > 0) return { problems };
    let validate: ReturnType<Ajv2020["compile"]>;
    try {
      validate = (ajv ??= createSafeAjv()).compile(schema);
    } catch (err) {
      return { problems: [{ path: [], message: `invalid JSON Schema: ${(err as Error).message}` }] };
    }
    return (args) => (validate(args) ? undefined : describeFirstError(validate, args));
  }
}
