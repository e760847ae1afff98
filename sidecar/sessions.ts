// Binds each MCP session the upstream issues (Mcp-Session-Id on an initialize answer) to the grant of
// the caller that initialised it. A request naming a session issued to someone else, or one never
// issued through this sidecar, is answered 404 (what MCP prescribes for unknown sessions) and never
// forwarded: otherwise one caller could act in another's session or spend its session-scoped budget.
// The table is bounded in total and per grant, and idle sessions expire; a forgotten session gets 404
// and the client starts a new one, as the spec describes. Eviction stays within the caller's own grant
// first, so one caller's initializes cannot push out everyone else's sessions: beyond its own quota a
// grant forgets its own least recently used session; when the whole table is full, the binding grant
// gives up its own oldest session if it has one, and only a grant's first session takes one from the
// grant that holds the most. Logs, spans and approvals name a session by its fingerprint, never by its id.

import { hash } from "node:crypto";
import { DigestCache } from "./digest-cache.ts";

export type SessionCheck = "ok" | "unknown" | "foreign";

export interface SessionTableOptions {
  maxSessions: number;
  /** Sessions one grant may hold; beyond it the grant's own least recently used is forgotten. */
  maxSessionsPerGrant: number;
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
  /** Each grant's sessions, least recently used first. */
  private readonly byGrant = new Map<string, Set<string>>();
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
    this.remove(session);
    this.bindings.set(session, { grant, lastSeen: this.now(), elicitation: client.elicitation ?? false });
    const own = this.sessionsOf(grant);
    own.add(session);
    while (own.size > this.options.maxSessionsPerGrant) this.remove(own.values().next().value as string);
    while (this.bindings.size > this.options.maxSessions) this.remove(this.victim(grant, session));
    this.changed();
    return true;
  }

  /** Sessions bound to `grant` now. */
  countOf(grant: string): number {
    return this.byGrant.get(grant)?.size ?? 0;
  }

  /** The session to forget when the table is full: the binding grant's own oldest, else the oldest of the largest holder. */
  private victim(grant: string, keep: string): string {
    const own = this.sessionsOf(grant);
    if (own.size > 1) return own.values().next().value as string;
    let largest: Set<string> | undefined;
    for (const [other, sessions] of this.byGrant) {
      if (other !== grant && sessions.size > (largest?.size ?? 0)) largest = sessions;
    }
    const oldest = largest?.values().next().value;
    return oldest ?? keep;
  }

  private sessionsOf(grant: string): Set<string> {
    let sessions = this.byGrant.get(grant);
    if (!sessions) this.byGrant.set(grant, (sessions = new Set()));
    return sessions;
  }

  /** Drops a session from both indexes; true if it was bound. */
  private remove(session: string): boolean {
    const binding = this.bindings.get(session);
    if (!binding) return false;
    this.bindings.delete(session);
    const own = this.byGrant.get(binding.grant);
    own?.delete(session);
    if (own?.size === 0) this.byGrant.delete(binding.grant);
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
    const own = this.sessionsOf(grant);
    own.delete(session);
    own.add(session);
    return "ok";
  }

  /** Whether the client of a session declared form elicitation (the sidecar may ask it for approvals). */
  supportsElicitation(session: string): boolean {
    return this.bindings.get(session)?.elicitation ?? false;
  }

  forget(session: string): void {
    if (this.remove(session)) this.changed();
  }

  /** Drops idle sessions; runs at most once per idle timeout, from the oldest end only. */
  private sweep(now: number): void {
    if (now - this.lastSweep < Math.min(this.options.idleTimeoutMs, 60_000)) return;
    this.lastSweep = now;
    let removed = false;
    for (const [session, binding] of this.bindings) {
      if (now - binding.lastSeen <= this.options.idleTimeoutMs) break;
      this.remove(session);
      removed = true;
    }
    if (removed) this.changed();
  }

  private changed(): void {
    this.options.onSize?.(this.bindings.size);
  }
}

/**
 * Session ids let whoever holds one act in that session, so the log carries a fingerprint that
 * correlates lines without being usable.
 */
export function sessionFingerprint(session: string | undefined): string | undefined {
  return session === undefined ? undefined : fingerprints.digest(session);
}

/** Fingerprints of recent sessions: one sha256 per session, not one per audit line and span (digest-cache.ts says why this is safe). */
const fingerprints = new DigestCache<string>(4096, (session) => hash("sha256", session, "hex").slice(0, 16));
