// Request ids the sidecar owns. Every request forwarded upstream carries an id minted here (a positive
// integer, unique for the life of the process, so unique in every upstream session and connection),
// and the answer's id is mapped back to the client's. No client id reaches the upstream, so no quirk of
// an upstream's id handling (the Python SDK keys answer streams by `str(id)`: `1` and `"1"` collide)
// can alias two requests. A scope (the MCP session, or the grant where there is none) remembers its
// requests still outstanding, so a client's `notifications/cancelled` names the right one, and the last
// few answered and those whose stream broke off, so a resumed GET stream that replays their answers
// (the client may have gone before an answer written to it arrived) can still map them. Memory per
// session is bounded by those few and by what is in flight.
import { idKey, type RequestId } from "../mcp/jsonrpc.ts";

/** Requests a scope may have outstanding; the oldest mapping is forgotten past this. */
const OUTSTANDING_KEPT = 1024;
/** Interrupted requests a scope keeps mappable for stream resumption. */
const INTERRUPTED_KEPT = 32;
/** Answered requests a scope keeps mappable for stream resumption. */
const ANSWERED_KEPT = 8;

interface ScopeIds {
  /** idKey(client id) → minted id, for requests not answered yet. */
  readonly outstanding: Map<string, number>;
  /** minted id → client id, for outstanding requests. */
  readonly clientIds: Map<number, RequestId>;
  /** minted id → client id, for requests whose answer never reached the client (bounded). */
  readonly interrupted: Map<number, RequestId>;
  /** minted id → client id, for the last requests answered (bounded). */
  readonly answered: Map<number, RequestId>;
  /** Outstanding minted ids the client cancelled (their answer or break-off refunds nothing). */
  readonly cancelled: Set<number>;
}

export class RequestIds {
  private next = 1;
  private readonly scopes = new Map<string, ScopeIds>();
  private readonly maxScopes: number;

  constructor(maxScopes = 10_000) {
    this.maxScopes = maxScopes;
  }

  /** A new id for a request forwarded in `scope`, remembered as standing for `clientId`. */
  mint(scope: string, clientId: RequestId): number {
    const minted = this.next++;
    const ids = this.scope(scope);
    const key = idKey(clientId);
    const previous = ids.outstanding.get(key);
    if (previous !== undefined) {
      ids.clientIds.delete(previous);
      ids.cancelled.delete(previous);
    }
    ids.outstanding.delete(key);
    ids.outstanding.set(key, minted);
    ids.clientIds.set(minted, clientId);
    if (ids.outstanding.size > OUTSTANDING_KEPT)
      this.interrupted(scope, ids.outstanding.values().next().value as number);
    return minted;
  }

  /** The request was answered: no longer cancellable, kept among the last few for a replay. */
  answered(scope: string, minted: number): void {
    this.retire(scope, minted, "answered", ANSWERED_KEPT);
  }

  /** Its answer never reached the client (the stream broke off): kept for a replay, no longer cancellable. */
  interrupted(scope: string, minted: number): void {
    this.retire(scope, minted, "interrupted", INTERRUPTED_KEPT);
  }

  /** The minted id of the client's outstanding request `clientId`, if there is one. */
  outstanding(scope: string, clientId: RequestId): number | undefined {
    return this.scopes.get(scope)?.outstanding.get(idKey(clientId));
  }

  /**
   * The client cancels its outstanding request `clientId`: its minted id, remembered as cancelled by
   * the client, since the tool may have run (or started what it does) before the cancel reached it.
   */
  cancel(scope: string, clientId: RequestId): number | undefined {
    const minted = this.outstanding(scope, clientId);
    if (minted !== undefined) this.scopes.get(scope)?.cancelled.add(minted);
    return minted;
  }

  /** Whether the client cancelled this outstanding request. */
  cancelledByClient(scope: string, minted: number): boolean {
    return this.scopes.get(scope)?.cancelled.has(minted) ?? false;
  }

  /** The client id a minted id stands for in this scope (outstanding, interrupted or answered lately). */
  clientId(scope: string, minted: number): RequestId | undefined {
    const ids = this.scopes.get(scope);
    return ids?.clientIds.get(minted) ?? ids?.interrupted.get(minted) ?? ids?.answered.get(minted);
  }

  /** Scopes remembered (for tests and the memory bound). */
  get size(): number {
    return this.scopes.size;
  }

  /** The session ended: its mappings go with it. */
  forget(scope: string): void {
    this.scopes.delete(scope);
  }

  private retire(scope: string, minted: number, as: "answered" | "interrupted", keep: number): void {
    const ids = this.scopes.get(scope);
    const clientId = ids?.clientIds.get(minted);
    if (ids === undefined || clientId === undefined) return;
    ids.clientIds.delete(minted);
    ids.cancelled.delete(minted);
    if (ids.outstanding.get(idKey(clientId)) === minted) ids.outstanding.delete(idKey(clientId));
    const kept = ids[as];
    kept.set(minted, clientId);
    if (kept.size > keep) kept.delete(kept.keys().next().value as number);
  }

  private scope(name: string): ScopeIds {
    let ids = this.scopes.get(name);
    if (ids) {
      this.scopes.delete(name);
    } else {
      ids = {
        outstanding: new Map(),
        clientIds: new Map(),
        interrupted: new Map(),
        answered: new Map(),
        cancelled: new Set(),
      };
    }
    this.scopes.set(name, ids);
    if (this.scopes.size > this.maxScopes) this.scopes.delete(this.scopes.keys().next().value as string);
    return ids;
  }
}

/** The scope of a caller's requests: its MCP session, or its grant when it has none. */
export function idScope(session: string | undefined, grant: string): string {
  return session !== undefined ? `session:${session}` : `grant:${grant}`;
}
