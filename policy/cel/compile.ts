// Compiles a policy's CEL expression once: parse, check statically, plan. The result is a predicate
// that never throws; a run-time failure (a missing argument, a wrong type) is returned as a message so
// the engine can deny with a reason that says what went wrong.
import { celLibrary } from "../libraries.ts";
import { callerFields, policyCelEnv, policyVariables, type CelCaller } from "./environment.ts";
import { checkExpression } from "./check.ts";

export interface CelActivation {
  args: Readonly<Record<string, unknown>>;
  tool: string;
  caller: CelCaller;
}

/** true or false, or a string saying why the expression could not be evaluated. */
export type CelOutcome = boolean | string;

export type CelPredicate = (activation: CelActivation) => CelOutcome;

export type CompiledCel = { ok: true; predicate: CelPredicate } | { ok: false; problem: string };

export function compileCel(source: string): CompiledCel {
  const { isCelError, parse, plan } = celLibrary();
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    return { ok: false, problem: `syntax error: ${describeSyntaxError(err)}` };
  }
  const variables = policyVariables();
  const problem = checkExpression(policyCelEnv(), parsed.expr, {
    variables: { args: variables.args, tool: variables.tool },
    objects: { caller: callerFields() },
  });
  if (problem !== undefined) return { ok: false, problem };
  const evaluate = plan(policyCelEnv(), parsed);
  const predicate: CelPredicate = (activation) => {
    const result = evaluate(activation as never);
    if (typeof result === "boolean") return result;
    if (isCelError(result)) return result.message;
    return `evaluated to ${typeof result}, not a bool`;
  };
  return { ok: true, predicate };
}

function describeSyntaxError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // "<input>:1:8: found + but expecting end of input" → "1:8: found + but …"
  return message.replace(/^syntax error: /, "").replace(/^<input>:/, "at ");
}
