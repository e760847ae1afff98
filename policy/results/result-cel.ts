// CEL over a tool's result: the policy's expression environment plus `result` (the tool result as
// the upstream sent it: isError, content, structuredContent). Checked statically when the policy
// loads, like every other policy expression.
import type { CelEnv, CelType } from "@bufbuild/cel";
import { checkExpression } from "../cel/check.ts";
import { callerFields, policyCelEnvWith, policyVariables, type CelCaller } from "../cel/environment.ts";
import { celLibrary } from "../libraries.ts";

/** Built when the first result condition compiles (CEL loads then, not before). */
let resultEnvironment:
  | { readonly env: CelEnv; readonly variables: Readonly<Record<"args" | "tool" | "caller" | "result", CelType>> }
  | undefined;

function environment(): NonNullable<typeof resultEnvironment> {
  if (resultEnvironment) return resultEnvironment;
  const { CelScalar, mapType } = celLibrary();
  const variables = { ...policyVariables(), result: mapType(CelScalar.STRING, CelScalar.DYN) };
  return (resultEnvironment = { env: policyCelEnvWith(variables), variables });
}

export interface ResultActivation {
  args: Readonly<Record<string, unknown>>;
  tool: string;
  caller: CelCaller;
  result: Readonly<Record<string, unknown>>;
}

/** true or false, or a string saying why the expression could not be evaluated. */
export type ResultPredicate = (activation: ResultActivation) => boolean | string;

export function compileResultCel(
  source: string,
): { ok: true; predicate: ResultPredicate } | { ok: false; problem: string } {
  const { isCelError, parse, plan } = celLibrary();
  const { env, variables } = environment();
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    return {
      ok: false,
      problem: `syntax error: ${(err instanceof Error ? err.message : String(err)).replace(/^<input>:/, "at ")}`,
    };
  }
  const problem = checkExpression(env, parsed.expr, {
    variables: { args: variables.args, tool: variables.tool, result: variables.result },
    objects: { caller: callerFields() },
  });
  if (problem !== undefined) return { ok: false, problem };
  const evaluate = plan(env, parsed);
  return {
    ok: true,
    predicate: (activation) => {
      const outcome = evaluate(activation as never);
      if (typeof outcome === "boolean") return outcome;
      if (isCelError(outcome)) return outcome.message;
      return `evaluated to ${typeof outcome}, not a bool`;
    },
  };
}
