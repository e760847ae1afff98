// Tool names: which ones are known (bounding metric labels), and which ones may be decided at all.
// A name outside MCP's tool-name guidance (1–128 of A–Z a–z 0–9 _ . - /) that neither the policy nor
// the upstream has ever named is refused outright: that is how look-alikes (Cyrillic 'а' for 'a',
// zero-width joiners, trailing spaces) of denied tools are stopped before any rule matching.
import type { CompiledPolicy } from "../../policy/compile.ts";

const GUIDANCE = /^[A-Za-z0-9_.\-/]{1,128}$/;

/** Names learnt from the upstream's tools/list answers, bounded so a misbehaving upstream cannot grow it. */
export class KnownTools {
  private readonly names = new Set<string>();
  private readonly limit: number;
  private readonly onSize: ((size: number) => void) | undefined;

  constructor(limit = 10_000, onSize?: (size: number) => void) {
    this.limit = limit;
    this.onSize = onSize;
  }

  learn(names: Iterable<string>): void {
    const before = this.names.size;
    for (const name of names) {
      if (this.names.size >= this.limit) break;
      if (name.length <= 1024) this.names.add(name);
    }
    if (this.names.size !== before) this.onSize?.(this.names.size);
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  get size(): number {
    return this.names.size;
  }
}

export function followsNameGuidance(name: string): boolean {
  return GUIDANCE.test(name);
}

/** Why a tool name is refused before policy evaluation, or undefined when it may be decided. */
export function toolNameProblem(name: string, policy: CompiledPolicy | undefined, known: KnownTools): string | undefined {
  if (followsNameGuidance(name) || known.has(name) || policy?.namesTool(name)) return undefined;
  return `Tool name ${JSON.stringify(name.length > 140 ? `${name.slice(0, 140)}…` : name)} is not a valid tool name: ` +
    "use the exact name from tools/list (letters, digits, '_', '.', '-', '/'; at most 128 characters)";
}

/** The `tool` label of a metric: the name when the policy or the upstream knows it, else `_unknown`. */
export function toolLabel(name: string, policy: CompiledPolicy | undefined, known: KnownTools): string {
  return known.has(name) || policy?.namesTool(name) ? name : "_unknown";
}
