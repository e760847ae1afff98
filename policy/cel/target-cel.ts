// CEL for resources and prompts rules: `uri` (resources), `name` and `args` (prompts) and `caller`,
// checked statically at load like the tools' expressions and run as predicates that never throw.
import type { CelEnv, CelType } from "@bufbuild/cel";
import { celLibrary } from "../libraries.ts";
import { checkExpression } from "./check.ts";
import { callerFields, policyCelEnvWith, type CelCaller } from "./environment.ts";

export type TargetKind = "resource" | "prompt";

export interface TargetActivation {
  uri: string;
  name: string;
  args: Readonly<Record<string, unknown>>;
  caller: CelCaller;
}

/** true or false, or why the expression could not be evaluated. */
export type TargetPredicate = (activation: TargetActivation) => boolean | string;

interface TargetEnvironment {
  readonly env: CelEnv;
  /** The variables a kind's expressions may use: a resource read has no name or arguments. */
  readonly visible: Record<TargetKind, Record<string, CelType>>;
}

/** Built when the first resources or prompts expression compiles (CEL loads then, not before). */
let targetEnvironment: TargetEnvironment | undefined;

function environment(): TargetEnvironment {
  if (targetEnvironment) return targetEnvironment;
  const { CelScalar, mapType } = celLibrary();
  const variables = {
    uri: CelScalar.STRING,
    name: CelScalar.STRING,
    args: mapType(CelScalar.STRING, CelScalar.DYN),
    caller: mapType(CelScalar.STRING, CelScalar.DYN),
  };
  const visible = { resource: { uri: variables.uri }, prompt: { name: variables.name, args: variables.args } };
  return (targetEnvironment = { env: policyCelEnvWith(variables), visible });
}

export function compileTargetCel(
  source: string,
  kind: TargetKind,
): { ok: true; predicate: TargetPredicate } | { ok: false; problem: string } {
  const { isCelError, parse, plan } = celLibrary();
  const { env, visible } = environment();
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    return {
      ok: false,
      problem: `syntax error: ${(err instanceof Error ? err.message : String(err)).replace(/^syntax error: /, "")}`,
    };
  }
  const problem = checkExpression(env, parsed.expr, { variables: visible[kind], objects: { caller: callerFields() } });
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
