// Request ids the sidecar owns. Every request forwarded upstream carries an id minted here (a positive
// integer, unique for the life of the process, so unique in every upstream session and connection),
// and the answer's id is mapped back to the client's. No client id reaches the upstream, so no quirk of
// an upstream's id handling (the Python SDK keys answer streams by `str(id)`: `1` and `"1"` collide)
// can alias two requests. A scope (the MCP session, or the grant where there is none) remembers the
// client ids still outstanding, so a client's `notifications/cancelled` names the right request, and
// a few recent answers, so a resumed GET stream that replays them can still be mapped.
import { idKey, type RequestId } from "../mcp/jsonrpc.ts";

/** Answers a scope keeps mappable after they were answered (for stream resumption). */
const ANSWERED_KEPT = 256;
/** Requests a scope may have outstanding; the oldest mapping is forgotten past this. */
const OUTSTANDING_KEPT = 4096;

interface ScopeIds {
  /** idKey(client id) → minted id, for requests not answered yet. */
  readonly outstanding: Map<string, number>;
  /** minted id → client id, for every request minted in this scope (bounded). */
  readonly clientIds: Map<number, RequestId>;
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
    ids.outstanding.delete(idKey(clientId));
    ids.outstanding.set(idKey(clientId), minted);
    ids.clientIds.set(minted, clientId);
    trim(ids.outstanding, OUTSTANDING_KEPT);
    trim(ids.clientIds, OUTSTANDING_KEPT + ANSWERED_KEPT);
    return minted;
  }

  /** The request was answered (or will never be): its client id no longer names it. */
  settle(scope: string, minted: number): void {
    const ids = this.scopes.get(scope);
    const clientId = ids?.clientIds.get(minted);
    if (ids === undefined || clientId === undefined) return;
    if (ids.outstanding.get(idKey(clientId)) === minted) ids.outstanding.delete(idKey(clientId));
  }

  /** The minted id of the client's outstanding request `clientId`, if there is one. */
  outstanding(scope: string, clientId: RequestId): number | undefined {
    return this.scopes.get(scope)?.outstanding.get(idKey(clientId));
  }

  /** The client id a minted id stands for in this scope (recent answers included). */
  clientId(scope: string, minted: number): RequestId | undefined {
    return this.scopes.get(scope)?.clientIds.get(minted);
  }

  /** The session ended: its mappings go with it. */
  forget(scope: string): void {
    this.scopes.delete(scope);
  }

  private scope(name: string): ScopeIds {
    let ids = this.scopes.get(name);
    if (ids) {
      this.scopes.delete(name);
    } else {
      ids = { outstanding: new Map(), clientIds: new Map() };
    }
    this.scopes.set(name, ids);
    trim(this.scopes, this.maxScopes);
    return ids;
  }
}

/** The scope of a caller's requests: its MCP session, or its grant when it has none. */
export function idScope(session: string | undefined, grant: string): string {
  return session !== undefined ? `session:${session}` : `grant:${grant}`;
}

function trim<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value as K);
}
