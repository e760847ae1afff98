// Binds each MCP session the upstream issues (Mcp-Session-Id on an initialize answer) to the grant of
// the caller that initialised it. A request naming a session issued to someone else, or one never
// issued through this sidecar, is answered 404 (what MCP prescribes for unknown sessions) and never
// forwarded: otherwise one caller could act in another's session or spend its session-scoped budget.
// The table is bounded (least recently used sessions are forgotten first) and idle sessions expire;
// a forgotten session gets 404 and the client starts a new one, as the spec describes.

export type SessionCheck = "ok" | "unknown" | "foreign";

export interface SessionTableOptions {
  maxSessions: number;
  idleTimeoutMs: number;
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
  /** Called with the new size whenever it changes (the sessions gauge). */
  onSize?: (size: number) => void;
}

interface Binding {
  grant: string;
  lastSeen: number;
  /** The client declared form elicitation when it initialised the session. */
  elicitation: boolean;
}

export class SessionTable {
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly bindings = new Map<string, Binding>();
  private readonly options: SessionTableOptions;
  private readonly now: () => number;
  private lastSweep: number;

  constructor(options: SessionTableOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.lastSweep = this.now();
  }

  get size(): number {
    return this.bindings.size;
  }

  /** Records a session the upstream issued to `grant`. A session id already bound keeps its owner. */
  bind(session: string, grant: string, client: { elicitation?: boolean } = {}): boolean {
    const existing = this.bindings.get(session);
    if (existing && existing.grant !== grant) return false;
    this.bindings.delete(session);
    this.bindings.set(session, { grant, lastSeen: this.now(), elicitation: client.elicitation ?? false });
    while (this.bindings.size > this.options.maxSessions) {
      const oldest = this.bindings.keys().next().value as string;
      this.bindings.delete(oldest);
    }
    this.changed();
    return true;
  }

  /** Checks that `grant` may use `session`, and marks it used. */
  check(session: string, grant: string): SessionCheck {
    const now = this.now();
    this.sweep(now);
    const binding = this.bindings.get(session);
    if (!binding) return "unknown";
    if (now - binding.lastSeen > this.options.idleTimeoutMs) {
      this.forget(session);
      return "unknown";
    }
    if (binding.grant !== grant) return "foreign";
    this.bindings.delete(session);
    binding.lastSeen = now;
    this.bindings.set(session, binding);
    return "ok";
  }

  /** Whether the client of a session declared form elicitation (the sidecar may ask it for approvals). */
  supportsElicitation(session: string): boolean {
    return this.bindings.get(session)?.elicitation ?? false;
  }

  forget(session: string): void {
    if (this.bindings.delete(session)) this.changed();
  }

  /** Drops idle sessions; runs at most once per idle timeout, from the oldest end only. */
  private sweep(now: number): void {
    if (now - this.lastSweep < Math.min(this.options.idleTimeoutMs, 60_000)) return;
    this.lastSweep = now;
    let removed = false;
    for (const [session, binding] of this.bindings) {
      if (now - binding.lastSeen <= this.options.idleTimeoutMs) break;
      this.bindings.delete(session);
      removed = true;
    }
    if (removed) this.changed();
  }

  private changed(): void {
    this.options.onSize?.(this.bindings.size);
  }
}
