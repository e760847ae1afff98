// The differential property: any mutated request (mutations.ts) sent through a stack's sidecar leaves
// the invariant intact. Cases run in batches (one caller and session per batch, so the limit is judged
// per batch). A batch is judged once, settled, at its end; each violation is laid at the door of the
// case during which its execution was recorded or its answer came back. Shared by the short run in
// `npm test` and `npm run fuzz:differential`.
import fc from "fast-check";
import { mutationArbitrary, toRequest, type Mutation } from "./mutations.ts";
import type { Stack } from "./stack.ts";

export interface PropertyRun {
  cases: number;
  /** Cases after which the invariant did not hold, with what broke it (the first `keep`). */
  bypasses: { mutation: Mutation; violations: string[] }[];
  bypassCount: number;
  /** Violations of a whole batch (the limit), not of one case. */
  unattributed: string[];
}

export interface RunOptions {
  cases: number;
  seed?: number;
  /** Stop generating new cases after this long. */
  timeLimitMs?: number;
  /** Cases per batch (one caller and session each). */
  casesPerBatch?: number;
  keep?: number;
  onProgress?: (done: number, bypasses: number) => void;
}

interface Sent {
  mutation: Mutation;
  /** Executions and answers of the batch when the case's answer had come back. */
  executionsTo: number;
  answersTo: number;
}

export async function runProperty(stack: Stack, options: RunOptions): Promise<PropertyRun> {
  const started = Date.now();
  const over = () => options.timeLimitMs !== undefined && Date.now() - started > options.timeLimitMs;
  const perBatch = options.casesPerBatch ?? options.cases;
  const run: PropertyRun = { cases: 0, bypasses: [], bypassCount: 0, unattributed: [] };
  const mutations = fc.sample(mutationArbitrary(), { numRuns: options.cases, seed: options.seed });
  for (let from = 0; from < mutations.length && !over(); from += perBatch) {
    const batch = stack.begin();
    const caller = stack.caller();
    const session = await batch.initialize(caller);
    const sent: Sent[] = [];
    for (const mutation of mutations.slice(from, from + perBatch)) {
      if (over()) break;
      await batch.send(toRequest(mutation, caller, session));
      const { executions, answers } = batch.progress();
      sent.push({ mutation, executionsTo: executions, answersTo: answers });
      run.cases++;
      options.onProgress?.(run.cases, run.bypassCount);
    }
    const byCase = new Map<Sent, string[]>();
    for (const finding of await batch.findings(300)) {
      // An execution recorded after the last answer belongs to the last case.
      const owner =
        finding.execution !== undefined
          ? (sent.find((s) => (finding.execution as number) < s.executionsTo) ?? sent.at(-1))
          : finding.answer !== undefined
            ? sent.find((s) => (finding.answer as number) < s.answersTo)
            : undefined;
      if (owner === undefined) run.unattributed.push(finding.text);
      else byCase.set(owner, [...(byCase.get(owner) ?? []), finding.text]);
    }
    for (const [owner, violations] of byCase) {
      run.bypassCount++;
      if (run.bypasses.length < (options.keep ?? 5)) run.bypasses.push({ mutation: owner.mutation, violations });
    }
  }
  return run;
}
