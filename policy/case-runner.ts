// Table-driven policy tests (`mcp-warden policy test FILE --cases CASES.yaml`): each case is a call or
// a sequence of calls on a virtual clock, with the decision (and optionally reason, rule, message)
// expected. Every case starts with fresh rate-limit counters.
import { z } from "zod";
import type { CelCaller } from "./cel/environment.ts";
import type { CompiledPolicy } from "./compile.ts";
import { decideToolCall } from "./decide.ts";
import { decideTarget } from "./decide-target.ts";
import type { Decision } from "./decision.ts";
import { parseDuration } from "./duration.ts";
import type { DeclaredInputSchemas } from "./input-schemas.ts";
import { SlidingWindowMemoryStore } from "./ratelimit/memory-store.ts";

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

/** What a step calls: a tool, a resource (by URI) or a prompt; exactly one. */
const TARGET = {
  tool: z.string().min(1).optional(),
  resource: z.string().min(1).optional().describe("A resources/read of this URI."),
  prompt: z.string().min(1).optional().describe("A prompts/get of this prompt (args are its arguments)."),
};
const oneTarget = (s: { tool?: string | undefined; resource?: string | undefined; prompt?: string | undefined }) => [s.tool, s.resource, s.prompt].filter((t) => t !== undefined).length === 1;
const ONE_TARGET = { message: "give exactly one of tool, resource or prompt" };

const Step = z.union([
  z.strictObject({
    ...TARGET,
    args: z.record(z.string(), z.unknown()).default({}),
    caller: Caller.optional(),
    session: z.string().optional(),
    repeat: z.int().min(1).max(100_000).default(1),
    expect: Expectation,
  }).refine(oneTarget, ONE_TARGET),
  z.strictObject({ advance: z.string().refine((d) => parseDuration(d) !== undefined, "must be a duration such as 30s or 1m") }),
]);

const Case = z.union([
  z.strictObject({
    name: z.string().min(1),
    ...TARGET,
    args: z.record(z.string(), z.unknown()).default({}),
    caller: Caller.optional(),
    session: z.string().optional(),
    expect: Expectation,
  }).refine(oneTarget, ONE_TARGET),
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

/** `declared`: the tools' declared input schemas, for a policy with `arguments: strict` (ADR 10). */
export async function runCases(policy: CompiledPolicy, file: CaseFileType, declared?: DeclaredInputSchemas): Promise<CaseResult[]> {
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
      const decide = (): Promise<Decision> =>
        step.resource !== undefined || step.prompt !== undefined
          ? decideTarget(policy, { kind: step.resource !== undefined ? "resource" : "prompt", target: (step.resource ?? step.prompt) as string, args: step.args, caller }, store, step.session)
          : decideToolCall(policy, { tool: step.tool as string, args: step.args, caller, session: step.session }, store, declared);
      for (let n = 1; n <= step.repeat; n++) {
        const actual = await decide();
        const compare = (field: string, want: string | undefined, got: string, ok = want === undefined || want === got) => {
          if (!ok) mismatches.push({ step: stepIndex + 1, call: n, field, expected: String(want), actual: got });
        };
        compare("decision", expected.decision, actual.decision);
        compare("reason", expected.reason, actual.reason);
        compare("rule", expected.rule, actual.rule);
        if (expected.messageContains !== undefined) {
          compare("message", `…${expected.messageContains}…`, actual.message, actual.message.includes(expected.messageContains));
        }
        if (mismatches.length > 0) break;
      }
      if (mismatches.length > 0) break;
    }
    results.push({ name: testCase.name, mismatches });
  }
  return results;
}
