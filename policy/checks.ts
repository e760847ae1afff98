// The argument checks of a rule: JSON Schema, `require` and `denyIf`. Each returns undefined when the
// call passes, or the denial to answer with. A check that cannot be evaluated denies (fail closed),
// and says why, so an agent can correct its arguments.
import type { ArgumentsValidator } from "./arguments-schema.ts";
import type { CelActivation, CelPredicate } from "./cel/compile.ts";
import type { Decision, ToolCall } from "./decision.ts";

export interface CompiledCheck {
  readonly pointer: string;
  run(call: ToolCall, activation: () => CelActivation): Decision | undefined;
}

type CheckSpec =
  | { kind: "arguments"; pointer: string; validator: ArgumentsValidator; reason: string | undefined }
  | {
      kind: "require" | "denyIf";
      pointer: string;
      source: string;
      predicate: CelPredicate;
      reason: string | undefined;
    };

export function buildCheck(spec: CheckSpec): CompiledCheck {
  const { pointer, reason } = spec;
  const deny = (call: ToolCall, why: Decision["reason"], message: string): Decision => ({
    decision: "denied",
    reason: why,
    message: reason ?? message.replaceAll("{tool}", call.tool),
    rule: pointer,
  });
  const evaluationError = (call: ToolCall, source: string, error: string): Decision => ({
    decision: "denied",
    reason: "evaluation_error",
    // The rule's own reason would hide what went wrong; the agent needs the cause to fix its call.
    message: `Call to '${call.tool}' denied: the policy rule \`${source}\` could not be evaluated (${error}). Check the arguments and retry.`,
    rule: pointer,
  });

  switch (spec.kind) {
    case "arguments":
      return {
        pointer,
        run(call) {
          const problem = spec.validator(call.args);
          return problem === undefined
            ? undefined
            : deny(call, "invalid_arguments", `Arguments of '{tool}' rejected by policy: ${problem}.`);
        },
      };
    case "require":
      return {
        pointer,
        run(call, activation) {
          const outcome = spec.predicate(activation());
          if (outcome === true) return undefined;
          if (outcome === false)
            return deny(
              call,
              "require_failed",
              `Call to '{tool}' denied: the arguments must satisfy \`${spec.source}\`.`,
            );
          return evaluationError(call, spec.source, outcome);
        },
      };
    case "denyIf":
      return {
        pointer,
        run(call, activation) {
          const outcome = spec.predicate(activation());
          if (outcome === false) return undefined;
          if (outcome === true)
            return deny(call, "deny_if_matched", `Call to '{tool}' denied by policy because \`${spec.source}\`.`);
          return evaluationError(call, spec.source, outcome);
        },
      };
  }
}
