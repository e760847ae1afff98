// The completion of a forwarded request, handed to the answer inspector with the request: when the
// upstream's answer to it is read (or the stream ends without one), the inspector completes it with
// the outcome, once, and the enforcer writes its refund, durations and audit line
// (enforcement/call-completion.ts).
import type { DecidedCall, DecidedTarget, UpstreamOutcome } from "../tool-call.ts";
import type { PendingToolCall } from "./answer-inspector.ts";
import type { ProxyDeps } from "./exchange.ts";
import type { ResultGuard } from "./result-guard.ts";

/** A forwarded tools/call: its result rules read the answer first, so the audit line has their verdict. */
export function toolCallCompletion(
  deps: Pick<ProxyDeps, "enforcer">,
  call: DecidedCall,
  results: ResultGuard | undefined,
): PendingToolCall {
  const complete = once((outcome, status) => void deps.enforcer.complete(call, outcome, status, results?.verdict));
  return results ? { complete, results } : { complete };
}

/** A forwarded resources/read or prompts/get the policy decided. */
export function targetCompletion(deps: Pick<ProxyDeps, "targets">, decided: DecidedTarget): PendingToolCall {
  return { complete: once((outcome, status) => void deps.targets.complete(decided, outcome, status)) };
}

type Complete = (outcome: UpstreamOutcome, status?: number) => void;

/** A request is completed by the first outcome reported for it: later ones (a stream ending) are ignored. */
function once(complete: Complete): Complete {
  let done = false;
  return (outcome, status) => {
    if (done) return;
    done = true;
    complete(outcome, status);
  };
}
