// When a rate limit gives a call back to its budget: the `refundOn` field of a limit, and how the
// older `refundOnError` spelling maps onto it. A limit counts calls that did something; which failed
// calls did nothing depends on the server (docs/adr/0126).
import { z } from "zod";

export const REFUND_CLASSES = ["upstreamError", "toolError"] as const;
export type RefundClass = (typeof REFUND_CLASSES)[number];

export const refundOnField = z
  .array(z.enum(REFUND_CLASSES))
  .max(REFUND_CLASSES.length)
  .refine((classes) => new Set(classes).size === classes.length, "lists a failure class twice")
  .optional()
  .describe(
    "Failed calls given back to the budget. upstreamError: the MCP server failed the call (JSON-RPC error, HTTP 5xx, " +
      "connection lost); toolError: the tool answered a result with isError: true (most servers' way of saying " +
      "nothing was done, e.g. Kestra's API refused or could not be reached). Default [upstreamError]; [] counts every attempt. " +
      "Overrides refundOnError.",
  );

export const refundOnErrorField = z
  .boolean()
  .optional()
  .describe("Older spelling, read when refundOn is absent: true is refundOn: [upstreamError], false is refundOn: [].");

/** The failure classes a limit refunds: `refundOn` when given, else what `refundOnError` said. */
export function refundClasses(limit: {
  refundOn?: readonly RefundClass[] | undefined;
  refundOnError?: boolean | undefined;
}): readonly RefundClass[] {
  if (limit.refundOn) return limit.refundOn;
  return limit.refundOnError === false ? [] : ["upstreamError"];
}
