// CEL for resources and prompts rules: `uri` (resources), `name` and `args` (prompts) and `caller`,
// checked statically at load like the tools' expressions and run as predicates that never throw.
import { CelScalar, celEnv, isCelError, mapType, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { checkExpression } from "./check.ts";
import { CALLER_FIELDS, compileRe2, type CelCaller } from "./environment.ts";

export type TargetKind = "resource" | "prompt";

export interface TargetActivation {
  uri: string;
  name: string;
  args: Readonly<Record<string, unknown>>;
  caller: CelCaller;
}

/** true or false, or why the expression could not be evaluated. */
export type TargetPredicate = (activation: TargetActivation) => boolean | string;

const VARIABLES = {
  uri: CelScalar.STRING,
  name: CelScalar.STRING,
  args: mapType(CelScalar.STRING, CelScalar.DYN),
  caller: mapType(CelScalar.STRING, CelScalar.DYN),
} as const;

const env = celEnv({ variables: VARIABLES, funcs: strings, re2: { compile: compileRe2 } });

/** The variables a kind's expressions may use: a resource read has no name or arguments. */
const VISIBLE: Record<TargetKind, Record<string, (typeof VARIABLES)[keyof typeof VARIABLES]>> = {
  resource: { uri: VARIABLES.uri },
  prompt: { name: VARIABLES.name, args: VARIABLES.args },
};

export function compileTargetCel(source: string, kind: TargetKind): { ok: true; predicate: TargetPredicate } | { ok: false; problem: string } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    return { ok: false, problem: `syntax error: ${(err instanceof Error ? err.message : String(err)).replace(/^syntax error: /, "")}` };
  }
  const problem = checkExpression(env, parsed.expr, { variables: VISIBLE[kind], objects: { caller: CALLER_FIELDS } });
  if (problem !== undefined) return { ok: false, problem };
  const evaluate = plan(env, parsed);
  return {
    ok: true,
    predicate: (activation) => {
      const result = evaluate(activation as never);
      if (typeof result === "boolean") return result;
      if (isCelError(result)) return result.message;
      return `evaluated to ${typeof result}, not a bool`;
    },
  };
}
