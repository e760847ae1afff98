// The contract every rate-limit store keeps (memory here; Redis shares it): exact sliding windows,
// all limits of a call checked together and consumed only if all pass, and refunds.
export interface LimitCheck {
  /** Budget identity: counter name plus scope value. */
  readonly key: string;
  readonly windowMs: number;
  readonly max: number;
}

/** Proof of a consumption, used to give it back. `token` is store-specific. */
export interface Reservation {
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
