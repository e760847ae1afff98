// Deciding a resources/read or prompts/get: the target's plan (hidden, denied, or checks then limits),
// evaluated like a tool call's, so limits are consumed by the same `admitToolCall`.
import type { CelCaller } from "./cel/environment.ts";
import type { CompiledPolicy, Evaluation } from "./compile.ts";
import type { TargetKind, TargetPlan, TargetPolicy } from "./targets.ts";
import { admitToolCall, type Admission } from "./decide.ts";
import type { RateLimitStore } from "./ratelimit/store.ts";
import { normalResourceUri, uriReadings } from "./resource-uri.ts";

export interface TargetRequest {
  readonly kind: TargetKind;
  /** The resource URI or the prompt name. */
  readonly target: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly caller: CelCaller;
}

/** The policy's evaluation; undefined when the policy has no block for this kind (the request passes). */
export function evaluateTarget(policy: CompiledPolicy, request: TargetRequest): Evaluation | undefined {
  const block = request.kind === "resource" ? policy.resources : policy.prompts;
  if (block === undefined) return undefined;
  // Resource rules see the URI's normal form; a URI without one is refused (resource-uri.ts).
  const normal =
    request.kind === "resource" ? normalResourceUri(request.target) : { ok: true as const, uri: request.target };
  if (!normal.ok) {
    return {
      decision: "denied",
      reason: "invalid_arguments",
      message: `Read of '${request.target.slice(0, 140)}' denied: ${normal.problem}.`,
      rule: RESOURCE_URI_RULE,
      plan: block.planFor(""),
    };
  }
  const plan: TargetPlan = block.planFor(normal.uri);
  if (request.kind === "resource") {
    const refusal = refusingReading(block, normal.uri);
    if (refusal) return refusal;
  }
  if (plan.terminal) return plan.terminal;
  const activation = {
    uri: request.kind === "resource" ? normal.uri : "",
    name: request.kind === "prompt" ? request.target : "",
    args: request.args,
    caller: request.caller,
  };
  for (const check of plan.targetChecks) {
    const denial = check.run(activation);
    if (denial) return { ...denial, plan };
  }
  return plan.admitted;
}

/** A deny or hide rule on another reading of the URI (resource-uri.ts), hide first; the block's default never counts. */
function refusingReading(block: TargetPolicy, uri: string): Evaluation | undefined {
  const refusals = uriReadings(uri)
    .flatMap((reading) => block.planFor(reading).terminal ?? [])
    .filter((t) => t.reason !== "default_deny");
  return refusals.find((t) => t.reason === "hidden") ?? refusals[0];
}

/** Whether a listed resource (by uri or uriTemplate, in normal form) or prompt (by name) is hidden from this policy's lists. */
export function targetHidden(policy: CompiledPolicy, kind: TargetKind, target: string): boolean {
  const block = kind === "resource" ? policy.resources : policy.prompts;
  if (block === undefined) return false;
  if (kind === "prompt") return block.isHidden(target);
  // Listed as reading it would be decided (a server may list `File:///Secret/x`); an entry that could
  // not be read is not listed either.
  const normal = normalResourceUri(target);
  return !normal.ok || uriReadings(normal.uri).some((reading) => block.isHidden(reading));
}

/** Marks a resource URI refused for having no normal form. */
export const RESOURCE_URI_RULE = "(resource URI)";

/** Marks a request no block of the policy decides (the policy says nothing about its kind). */
export const NOT_POLICED_RULE = "(not policed)";

/** The decision, limits consumed; a kind the policy says nothing about is allowed as it always was. */
export async function decideTarget(
  policy: CompiledPolicy,
  request: TargetRequest,
  store: RateLimitStore,
  session?: string,
): Promise<Admission> {
  const evaluation = evaluateTarget(policy, request);
  if (evaluation === undefined)
    return { decision: "allowed", reason: "default_allow", message: "", rule: NOT_POLICED_RULE };
  if (evaluation.decision !== "allowed") {
    const { plan: _plan, ...decision } = evaluation;
    return decision;
  }
  return admitToolCall(
    policy,
    { tool: request.target, args: request.args, caller: request.caller, session },
    evaluation,
    store,
  );
}
