// Which failed calls give their rate-limit reservation back, and under which `refundOn` class.
import type { RefundClass } from "../../policy/schema-refund.ts";
import type { UpstreamOutcome } from "../tool-call.ts";

/** Failed calls give their rate-limit reservation back (the tool did not run, or not to the end). */
export function refundable(outcome: UpstreamOutcome, httpStatus: number | undefined): boolean {
  if (outcome === "rpc_error" || outcome === "connection_error" || outcome === "input_required") return true;
  return outcome === "http_error" && httpStatus !== undefined && httpStatus >= 500;
}

/** Which `refundOn` class an outcome is, if any: the server failed the call, or the tool reported
 * that it failed (an isError result). Other outcomes are never refunded. */
export function refundClassOf(outcome: UpstreamOutcome, httpStatus: number | undefined): RefundClass | undefined {
  if (refundable(outcome, httpStatus)) return "upstreamError";
  return outcome === "tool_error" ? "toolError" : undefined;
}
