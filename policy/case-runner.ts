// Table-driven policy tests (`mcp-warden policy test FILE --cases CASES.yaml`): each case is a call or
// a sequence of calls on a virtual clock, with the decision (and optionally reason, rule, message)
// expected. Every case starts with fresh rate-limit counters. A call may also give the tool's `result`
// and what the result rules must make of it (`expectResult`: redacted, withheld or passed, the
// detectors that fired, text the agent must or must not see).
import { z } from "zod";
import type { CelCaller } from "./cel/environment.ts";
import type { CompiledPolicy } from "./compile.ts";
import { decideToolCall } from "./decide.ts";
import { decideTarget } from "./decide-target.ts";
import type { Decision } from "./decision.ts";
import { parseDuration } from "./duration.ts";
import type { DeclaredInputSchemas } from "./input-schemas.ts";
import { SlidingWindowMemoryStore } from "./ratelimit/memory-store.ts";
import type { ToolCall } from "./decision.ts";
import { inspectResult } from "./results/inspect.ts";

const Caller = z.union([
  z.string().min(1),
  z.strictObject({
    grant: z.string().min(1),
    sub: z.string().optional(),
    groups: z.array(z.string()).optional(),
    claims: z.record(z.string(), z.unknown()).optional(),
  }),
]);

const Expectation = z.union([
  z.enum(["allowed", "denied", "rate_limited", "approval_required"]),
  z.strictObject({
    decision: z.enum(["allowed", "denied", "rate_limited", "approval_required"]),
    reason: z.string().optional(),
    rule: z.string().optional(),
    messageContains: z.string().optional(),
  }),
]);

/** A tool result as the upstream would send it, or a text (one text content item). */
const ToolResult = z.union([z.string(), z.record(z.string(), z.unknown())]);

const ResultExpectation = z.union([
  z.enum(["passed", "redacted", "withheld"]),
  z.strictObject({
    action: z.enum(["passed", "redacted", "withheld"]),
    reason: z.enum(["detector", "too_large", "condition", "evaluation_error", "scan_failed"]).optional(),
    detectors: z.array(z.string()).optional().describe("The detectors that fired, in any order."),
    contains: z.array(z.string()).optional().describe("Text the result the agent sees must contain."),
    excludes: z.array(z.string()).optional().describe("Text it must not contain (the secrets)."),
  }),
]);

const ResultFields = { result: ToolResult.optional(), expectResult: ResultExpectation.optional() };
/** What a step calls: a tool, a resource (by URI) or a prompt; exactly one. */
const TARGET = {
  tool: z.string().min(1).optional(),
  resource: z.string().min(1).optional().describe("A resources/read of this URI."),
  prompt: z.string().min(1).optional().describe("A prompts/get of this prompt (args are its arguments)."),
};
const oneTarget = (s: { tool?: string | undefined; resource?: string | undefined; prompt?: string | undefined }) =>
  [s.tool, s.resource, s.prompt].filter((t) => t !== undefined).length === 1;
const ONE_TARGET = { message: "give exactly one of tool, resource or prompt" };

const Step = z.union([
  z
    .strictObject({
      ...TARGET,
      args: z.record(z.string(), z.unknown()).default({}),
      caller: Caller.optional(),
      session: z.string().optional(),
      repeat: z.int().min(1).max(100_000).default(1),
      expect: Expectation,
      ...ResultFields,
    })
    .refine(oneTarget, ONE_TARGET),
  z.strictObject({
    advance: z.string().refine((d) => parseDuration(d) !== undefined, "must be a duration such as 30s or 1m"),
  }),
]);

const Case = z.union([
  z
    .strictObject({
      name: z.string().min(1),
      ...TARGET,
      args: z.record(z.string(), z.unknown()).default({}),
      caller: Caller.optional(),
      session: z.string().optional(),
      expect: Expectation,
      ...ResultFields,
    })
    .refine(oneTarget, ONE_TARGET),
  z.strictObject({ name: z.string().min(1), caller: Caller.optional(), sequence: z.array(Step).min(1) }),
]);

export const CaseFile = z.strictObject({ cases: z.array(Case).min(1) });
export type CaseFileType = z.infer<typeof CaseFile>;

export interface CaseMismatch {
  step: number;
  call: number;
  field: string;
  expected: string;
  actual: string;
}

export interface CaseResult {
  name: string;
  mismatches: CaseMismatch[];
}

function toCaller(c: z.infer<typeof Caller> | undefined): CelCaller {
  if (c === undefined) return { grant: "anonymous", sub: "", groups: [], claims: {} };
  if (typeof c === "string") return { grant: c, sub: c, groups: [], claims: {} };
  return { grant: c.grant, sub: c.sub ?? c.grant, groups: c.groups ?? [], claims: c.claims ?? {} };
}

type Compare = (field: string, want: string | undefined, got: string, ok?: boolean) => void;

/** What the call's result rules make of the step's result, against what the step expects. */
function compareResult(
  policy: CompiledPolicy,
  call: ToolCall,
  decision: string,
  step: {
    result?: z.infer<typeof ToolResult> | undefined;
    expectResult?: z.infer<typeof ResultExpectation> | undefined;
  },
  compare: Compare,
): void {
  if (step.result === undefined) return compare("result", "a result to judge (result:)", "none given", false);
  const result = typeof step.result === "string" ? { content: [{ type: "text", text: step.result }] } : step.result;
  const plan = decision === "allowed" ? policy.planFor(call.tool).results : undefined;
  const verdict = plan
    ? inspectResult(plan, result, { policy: policy.name, tool: call.tool, args: call.args, caller: call.caller })
    : { action: "passed" as const, result, detectors: {} };
  const want =
    typeof step.expectResult === "string"
      ? { action: step.expectResult }
      : (step.expectResult ?? { action: "passed" as const });
  compare("result action", want.action, verdict.action);
  if ("reason" in want) compare("result reason", want.reason, verdict.reason ?? "(none)");
  if ("detectors" in want && want.detectors) {
    const fired = Object.keys(verdict.detectors).sort();
    compare("result detectors", want.detectors.slice().sort().join(", "), fired.join(", "));
  }
  const shown = JSON.stringify(verdict.result);
  for (const text of ("contains" in want ? want.contains : undefined) ?? [])
    compare("result text", `…${text}…`, shown, shown.includes(text));
  for (const text of ("excludes" in want ? want.excludes : undefined) ?? [])
    compare("result text", `no ${text}`, shown, !shown.includes(text));
}

/** `declared`: the tools' declared input schemas, for a policy with `arguments: strict` (ADR 10). */
export async function runCases(
  policy: CompiledPolicy,
  file: CaseFileType,
  declared?: DeclaredInputSchemas,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const testCase of file.cases) {
    const steps = "sequence" in testCase ? testCase.sequence : [{ ...testCase, repeat: 1 }];
    const caseCaller = testCase.caller;
    let now = Date.UTC(2026, 0, 1);
    const store = new SlidingWindowMemoryStore({ now: () => now });
    const mismatches: CaseMismatch[] = [];
    for (const [stepIndex, step] of steps.entries()) {
      if ("advance" in step) {
        now += parseDuration(step.advance) as number;
        continue;
      }
      const expected = typeof step.expect === "string" ? { decision: step.expect } : step.expect;
      const caller = toCaller(step.caller ?? caseCaller);
      const call = { tool: step.tool as string, args: step.args, caller, session: step.session };
      const decide = (): Promise<Decision> =>
        step.resource !== undefined || step.prompt !== undefined
          ? decideTarget(
              policy,
              {
                kind: step.resource !== undefined ? "resource" : "prompt",
                target: (step.resource ?? step.prompt) as string,
                args: step.args,
                caller,
              },
              store,
              step.session,
            )
          : decideToolCall(policy, call, store, declared);
      for (let n = 1; n <= step.repeat; n++) {
        const actual = await decide();
        const compare = (
          field: string,
          want: string | undefined,
          got: string,
          ok = want === undefined || want === got,
        ) => {
          if (!ok) mismatches.push({ step: stepIndex + 1, call: n, field, expected: String(want), actual: got });
        };
        compare("decision", expected.decision, actual.decision);
        compare("reason", expected.reason, actual.reason);
        compare("rule", expected.rule, actual.rule);
        if (expected.messageContains !== undefined) {
          compare(
            "message",
            `…${expected.messageContains}…`,
            actual.message,
            actual.message.includes(expected.messageContains),
          );
        }
        if (step.tool !== undefined && (step.expectResult !== undefined || step.result !== undefined))
          compareResult(policy, call, actual.decision, step, compare);
        if (mismatches.length > 0) break;
      }
      if (mismatches.length > 0) break;
    }
    results.push({ name: testCase.name, mismatches });
  }
  return results;
}
