// CEL over a tool's result: the policy's expression environment plus `result` (the tool result as
// the upstream sent it: isError, content, structuredContent). Checked statically when the policy
// loads, like every other policy expression.
import { CelScalar, celEnv, isCelError, mapType, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { checkExpression } from "../cel/check.ts";
import { CALLER_FIELDS, compileRe2, VARIABLES, type CelCaller } from "../cel/environment.ts";

const RESULT_VARIABLES = { ...VARIABLES, result: mapType(CelScalar.STRING, CelScalar.DYN) } as const;

const resultCelEnv = celEnv({ variables: RESULT_VARIABLES, funcs: strings, re2: { compile: compileRe2 } });

export interface ResultActivation {
  args: Readonly<Record<string, unknown>>;
  tool: string;
  caller: CelCaller;
  result: Readonly<Record<string, unknown>>;
}

/** true or false, or a string saying why the expression could not be evaluated. */
export type ResultPredicate = (activation: ResultActivation) => boolean | string;

export function compileResultCel(source: string): { ok: true; predicate: ResultPredicate } | { ok: false; problem: string } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    return { ok: false, problem: `syntax error: ${(err instanceof Error ? err.message : String(err)).replace(/^<input>:/, "at ")}` };
  }
  const problem = checkExpression(resultCelEnv, parsed.expr, {
    variables: { args: RESULT_VARIABLES.args, tool: RESULT_VARIABLES.tool, result: RESULT_VARIABLES.result },
    objects: { caller: CALLER_FIELDS },
  });
  if (problem !== undefined) return { ok: false, problem };
  const evaluate = plan(resultCelEnv, parsed);
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
