// The leader-election rules for a coordination.k8s.io/v1 Lease, as pure functions (the same rules
// as client-go's leaderelection package). Expiry is judged by when this replica last saw the record
// change on its own clock, never by the renewTime written by another machine, so clock skew between
// replicas cannot make two of them leader at once.

export interface LeaseRecord {
  holderIdentity?: string | undefined;
  leaseDurationSeconds?: number | undefined;
  /** RFC 3339 with microseconds, as the API's MicroTime. */
  acquireTime?: string | undefined;
  renewTime?: string | undefined;
  leaseTransitions?: number | undefined;
}

/** What this replica knows of the lease: the record, and when (local time) it last changed. */
export interface LeaseObservation {
  record: LeaseRecord;
  observedAt: number;
}

export type LeaseDecision =
  | { action: "create"; record: LeaseRecord }
  | { action: "update"; record: LeaseRecord; acquiring: boolean }
  | { action: "wait"; holder: string; expiresAt: number };

export interface LeaseDecisionInput {
  identity: string;
  now: number;
  leaseDurationMs: number;
  /** The lease as just read; undefined when it does not exist. */
  current: LeaseRecord | undefined;
  /** The previous observation, to tell whether the record changed since. */
  previous: LeaseObservation | undefined;
}

/** Updates the observation with the record just read. */
export function observe(previous: LeaseObservation | undefined, record: LeaseRecord, now: number): LeaseObservation {
  if (previous && sameRecord(previous.record, record)) return previous;
  return { record, observedAt: now };
}

export function decideLease(input: LeaseDecisionInput): LeaseDecision {
  const { identity, now, leaseDurationMs, current } = input;
  const seconds = Math.ceil(leaseDurationMs / 1000);
  if (current === undefined) {
    return {
      action: "create",
      record: {
        holderIdentity: identity,
        leaseDurationSeconds: seconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      },
    };
  }
  const observation = observe(input.previous, current, now);
  const holder = current.holderIdentity ?? "";
  const duration = (current.leaseDurationSeconds ?? seconds) * 1000;
  const expiresAt = observation.observedAt + duration;
  if (holder !== "" && holder !== identity && expiresAt > now) {
    return { action: "wait", holder, expiresAt };
  }
  const renewing = holder === identity;
  return {
    action: "update",
    acquiring: !renewing,
    record: {
      holderIdentity: identity,
      leaseDurationSeconds: seconds,
      acquireTime: renewing ? (current.acquireTime ?? microTime(now)) : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (current.leaseTransitions ?? 0) + (renewing ? 0 : 1),
    },
  };
}

/** The record that gives the lease up at shutdown, so a standby takes over at once instead of
 * waiting for it to expire. */
export function releasedRecord(current: LeaseRecord, now: number): LeaseRecord {
  return {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: microTime(now),
    renewTime: microTime(now),
    leaseTransitions: current.leaseTransitions ?? 0,
  };
}

export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    (a.holderIdentity ?? "") === (b.holderIdentity ?? "") &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    (a.leaseTransitions ?? 0) === (b.leaseTransitions ?? 0)
  );
}
