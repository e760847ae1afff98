// The contract every rate-limit store keeps (memory here; Redis shares it): exact sliding windows,
// all limits of a call checked together and consumed only if all pass, and refunds.
export interface LimitCheck {
  /** Budget identity: counter name plus scope value. */
  readonly key: string;
  readonly windowMs: number;
  readonly max: number;
  /**
   * Budgets that may be stored apart from others. Every check of one call carries the same partition:
   * the caller's grant, or "" when the policy has a global limit and so all of its budgets must be
   * counted together. A distributed store keeps one partition's budgets together (one Redis Cluster
   * slot) so that a call is checked atomically; the memory store ignores it.
   */
  readonly partition?: string;
}

/** Proof of a consumption, used to give it back. `keys` and `token` are store-specific. */
export interface Reservation {
  /** The store's names for the budgets consumed, in the order of the checks (a refund may pass a subset). */
  readonly keys: readonly string[];
  readonly token: string | number;
}

export type ConsumeResult =
  | { readonly admitted: true; readonly reservation: Reservation }
  | {
      readonly admitted: false;
      /** Index into the checks of the first limit that had no room. */
      readonly blocked: number;
      /** When that limit will have room again. */
      readonly retryAfterMs: number;
    };

export interface RateLimitStore {
  /**
   * Admits one call iff, for every check, fewer than `max` calls were admitted in the last `windowMs`;
   * on admission records it in every key at once. Atomic with respect to other calls.
   * Throws (or rejects) when the store cannot answer; the engine then applies the policy's failMode.
   */
  consume(checks: readonly LimitCheck[]): ConsumeResult | Promise<ConsumeResult>;
  /** Gives a consumption back (the upstream failed the call). Unknown or expired ones are ignored. */
  refund(reservation: Reservation): void | Promise<void>;
  close(): Promise<void>;
}

/**
 * A store could not answer. `message` is short and safe to show an agent ("Redis did not answer
 * within 250 ms"); `cause` keeps the client's own error for logs.
 */
export class RateLimitStoreError extends Error {
  override readonly name = "RateLimitStoreError";
  readonly operation: "consume" | "refund";

  constructor(operation: "consume" | "refund", message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.operation = operation;
  }
}
