// The upstream's tool definitions as the sidecar last saw them, by digest: from every tools/list
// answer it relays to an agent (one page at a time) and from its own complete listings. Drift is
// decided against this view (ADR 0132). The two sources are kept apart: an upstream that shows its
// pinned definition to the sidecar's own session cannot clear a changed one it showed an agent, and a
// tool listed twice with two definitions has both in force; either way the tool matches no pin.
// Definitions are kept (bounded) so that a drift can be shown as a diff of what changed; the
// definition last seen with each digest that matched a pin is kept too.
import { definitionDigest, digestedDefinition } from "../../policy/pins/definition-digest.ts";

export interface LiveDefinition {
  /** undefined: the definition cannot be digested (not JSON), so it matches no pin. */
  readonly digest: string | undefined;
  readonly definition: Record<string, unknown>;
  /** Another definition of the tool in force at the same time: the tool matches no pin. */
  readonly alternative?: LiveDefinition | undefined;
}

/** A tool as the sidecar's own listing and as the agents' listings last showed it. */
interface ToolViews {
  readonly own?: LiveDefinition | undefined;
  readonly shown?: LiveDefinition | undefined;
}

/** What a listing changed: tool names whose live digest is new, or that went away. */
export type DefinitionsListener = (changed: readonly string[]) => void;

export class LiveDefinitions {
  private readonly live = new Map<string, ToolViews>();
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
    const listed = listedDefinitions(tools);
    const view = complete ? "own" : "shown";
    for (const [name, entry] of listed) {
      const views = this.live.get(name);
      if (sameDefinitions(views?.[view], entry)) continue;
      if (!views && this.live.size >= this.limit) continue;
      this.live.set(name, { ...views, [view]: entry });
      for (const d of [entry, entry.alternative]) if (d?.digest !== undefined) this.remember(d.digest, d.definition);
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

  /**
   * The tool's live definition; when two are in force (the agents' and the sidecar's own differ, or
   * one listing gave two), the one that differs from `pinned` comes first, the other as alternative.
   */
  get(tool: string, pinned?: string): LiveDefinition | undefined {
    const views = this.live.get(tool);
    if (!views) return undefined;
    const inForce = [views.shown, views.shown?.alternative, views.own, views.own?.alternative].filter(
      (d) => d !== undefined,
    );
    const first = inForce.find((d) => d.digest !== pinned) ?? inForce[0];
    const other = inForce.find((d) => d.digest !== first?.digest);
    return first && { digest: first.digest, definition: first.definition, ...(other ? { alternative: other } : {}) };
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

/** A listing's definitions by name; a name listed twice with another definition keeps both. */
function listedDefinitions(tools: readonly unknown[]): Map<string, LiveDefinition> {
  const listed = new Map<string, LiveDefinition>();
  for (const tool of tools) {
    const name = nameOf(tool);
    if (name === undefined) continue;
    const entry = digestOf(tool);
    const earlier = listed.get(name);
    if (!earlier) listed.set(name, entry);
    else if (!earlier.alternative && earlier.digest !== entry.digest)
      listed.set(name, { ...earlier, alternative: entry });
  }
  return listed;
}

function sameDefinitions(a: LiveDefinition | undefined, b: LiveDefinition): boolean {
  return (
    a !== undefined &&
    b.digest !== undefined &&
    a.digest === b.digest &&
    a.alternative?.digest === b.alternative?.digest &&
    !a.alternative === !b.alternative
  );
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
