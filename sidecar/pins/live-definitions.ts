// The upstream's tool definitions as the sidecar last saw them, by digest: from every tools/list
// answer it relays to an agent (one page at a time) and from its own complete listings. Drift is
// decided against this view (ADR 0132). Definitions are kept (bounded) so that a drift can be shown
// as a diff of what changed; the definition last seen with each digest that matched a pin is kept too.
import { definitionDigest, digestedDefinition } from "../../policy/pins/definition-digest.ts";

export interface LiveDefinition {
  /** undefined: the definition cannot be digested (not JSON), so it matches no pin. */
  readonly digest: string | undefined;
  readonly definition: Record<string, unknown>;
}

/** What a listing changed: tool names whose live digest is new, or that went away. */
export type DefinitionsListener = (changed: readonly string[]) => void;

export class LiveDefinitions {
  private readonly live = new Map<string, LiveDefinition>();
  /** Earlier definitions by digest, so a diff can show what a pinned definition looked like. */
  private readonly seen = new Map<string, Record<string, unknown>>();
  private readonly listeners = new Set<DefinitionsListener>();
  private readonly limit: number;

  constructor(limit = 10_000) {
    this.limit = limit;
  }

  /**
   * The `tools` of one tools/list page. `complete`: the whole list (the sidecar's own listing), so
   * tools it lacks are gone from the upstream.
   */
  observe(tools: readonly unknown[], complete: boolean): void {
    const changed: string[] = [];
    const listed = new Set<string>();
    for (const tool of tools) {
      const name = nameOf(tool);
      if (name === undefined) continue;
      listed.add(name);
      const entry = digestOf(tool);
      if (this.live.get(name)?.digest === entry.digest && entry.digest !== undefined) continue;
      if (!this.live.has(name) && this.live.size >= this.limit) continue;
      this.live.set(name, entry);
      if (entry.digest !== undefined) this.remember(entry.digest, entry.definition);
      changed.push(name);
    }
    if (complete) {
      for (const name of this.live.keys()) {
        if (listed.has(name)) continue;
        this.live.delete(name);
        changed.push(name);
      }
    }
    if (changed.length > 0) for (const listener of this.listeners) listener(changed);
  }

  get(tool: string): LiveDefinition | undefined {
    return this.live.get(tool);
  }

  /** A definition seen earlier with this digest (for diffs), if still remembered. */
  definitionWithDigest(digest: string): Record<string, unknown> | undefined {
    return this.seen.get(digest);
  }

  names(): IterableIterator<string> {
    return this.live.keys();
  }

  onChange(listener: DefinitionsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private remember(digest: string, definition: Record<string, unknown>): void {
    this.seen.delete(digest);
    this.seen.set(digest, definition);
    // Twice the live bound: each tool's current definition and one earlier one.
    if (this.seen.size > this.limit * 2) this.seen.delete(this.seen.keys().next().value as string);
  }
}

function nameOf(tool: unknown): string | undefined {
  if (typeof tool !== "object" || tool === null) return undefined;
  const name = (tool as { name?: unknown }).name;
  return typeof name === "string" && name.length <= 1024 ? name : undefined;
}

function digestOf(tool: unknown): LiveDefinition {
  try {
    return { digest: definitionDigest(tool), definition: digestedDefinition(tool) };
  } catch {
    return { digest: undefined, definition: {} };
  }
}
