// A bounded memo of sha256 digests of strings the request path hashes again and again: the API key of
// every call and the session id behind every audit line and span. Hashing them costs a few per cent
// of the sidecar's CPU per call; a lookup costs a fraction of that.
//
// Why the cache is safe:
// - A digest is a pure function of its input, so a cached digest is never stale; nothing has to be
//   invalidated when grants or sessions change (callers still compare digests as before).
// - It is bounded: at most `limit` entries; the oldest entry goes first (insertion order), so a flood
//   of new inputs only evicts, it never grows memory. An evicted input is hashed again, as without a
//   cache. Inputs longer than `maxInputLength` are never kept: a session id comes from a request
//   header an authenticated caller chooses (up to the header size bound), and `limit` entries of that
//   size would hold tens of megabytes. Real session ids and keys are far shorter.
// - Timing: a lookup hashes the input with V8's string hash, whose seed is random per process, and
//   compares strings only when those hashes are equal; a hit or a miss therefore tells only whether
//   this exact string was seen recently, which whoever sends it already knows. What is cached is
//   decided by the caller (API keys only once they matched a grant: see identity/api-keys.ts).
export class DigestCache<T> {
  private readonly entries = new Map<string, T>();
  private readonly limit: number;
  private readonly compute: (input: string) => T;
  private readonly maxInputLength: number;

  /** `compute` must be a pure function of its input (a digest). */
  constructor(limit: number, compute: (input: string) => T, maxInputLength = 256) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`a digest cache holds at least one entry, not ${limit}`);
    this.limit = limit;
    this.compute = compute;
    this.maxInputLength = maxInputLength;
  }

  /** The cached digest of `input`, if it is cached. */
  cached(input: string): T | undefined {
    return this.entries.get(input);
  }

  /** The digest of `input`, computed (not cached). */
  digestOf(input: string): T {
    return this.compute(input);
  }

  remember(input: string, digest: T): void {
    if (input.length > this.maxInputLength || this.entries.has(input)) return;
    if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(input, digest);
  }

  /** The digest of `input`, cached from now on. */
  digest(input: string): T {
    let d = this.entries.get(input);
    if (d === undefined) {
      d = this.compute(input);
      this.remember(input, d);
    }
    return d;
  }

  get size(): number {
    return this.entries.size;
  }
}
