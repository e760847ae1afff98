// Tool names: which ones are known (bounding metric labels), and which ones may be decided at all.
// A name outside MCP's tool-name guidance (1–128 of A–Z a–z 0–9 _ . - /) that neither the policy nor
// the upstream has ever named is refused outright: that is how look-alikes (Cyrillic 'а' for 'a',
// zero-width joiners, trailing spaces) of denied tools are stopped before any rule matching.
import type { CompiledPolicy } from "../../policy/compile.ts";
import { LiveDefinitions } from "../pins/live-definitions.ts";
import type { RequestId } from "../mcp/jsonrpc.ts";
import { MissingToolAnswer } from "./missing-tool-answer.ts";
import { ToolInputSchemas } from "./tool-input-schemas.ts";

const GUIDANCE = /^[A-Za-z0-9_.\-/]{1,128}$/;

/**
 * What the sidecar knows of the upstream's tools, from its tools/list answers: their names (bounded,
 * so a misbehaving upstream cannot grow them) and their declared input schemas (`inputSchemas`).
 */
export class KnownTools {
  private readonly names = new Set<string>();
  private readonly limit: number;
  private readonly onSize: ((size: number) => void) | undefined;
  private readonly listingWanted = new Set<() => Promise<void>>();
  readonly inputSchemas: ToolInputSchemas;
  /** The tools' definitions by digest, for spec.pins. */
  readonly definitions: LiveDefinitions;
  /** How the upstream answers a tool it does not have (hidden tools answer the same). */
  readonly missingTool = new MissingToolAnswer();
  /** How the upstream answers prompts/get of a prompt, resources/read of a resource and completion/complete of a resource template it does not have. */
  readonly missingTarget = {
    prompt: new MissingToolAnswer(),
    resource: new MissingToolAnswer(),
    template: new MissingToolAnswer(),
  };
  private catalogued = false;

  constructor(limit = 10_000, onSize?: (size: number) => void) {
    this.limit = limit;
    this.onSize = onSize;
    this.inputSchemas = new ToolInputSchemas(limit);
    this.definitions = new LiveDefinitions(limit);
  }

  /** The `tools` of a tools/list answer (one page) an agent received through the proxy. */
  learnTools(tools: readonly unknown[]): void {
    this.learn(toolNames(tools));
    this.inputSchemas.learn(tools);
    this.inputSchemas.warm();
    this.definitions.observe(tools, false);
  }

  /**
   * The complete tools/list of the sidecar's own session: replaces the names and schemas known so far
   * (a tool the server no longer lists is no longer known), and from now on the names are the server's
   * catalogue (see `toolLabel`).
   */
  replaceTools(tools: readonly unknown[]): void {
    this.names.clear();
    this.catalogued = true;
    this.learn(toolNames(tools));
    this.onSize?.(this.names.size);
    this.inputSchemas.replace(tools);
    this.inputSchemas.warm();
    this.definitions.observe(tools, true);
  }

  /**
   * The upstream said its tools changed (`notifications/tools/list_changed`, seen by the proxy or the
   * sidecar's own session): the sidecar lists them again. Also called when a strict call names a tool
   * whose schema is unknown, in case the upstream gained it since. Resolves when that listing has
   * ended (at once when the sidecar does not list tools itself); callers need not wait.
   */
  toolListChanged(): Promise<void> {
    return Promise.all([...this.listingWanted].map((listener) => listener())).then(() => undefined);
  }

  /**
   * Registers what lists the upstream's tools again on `toolListChanged()` (its promise settles when
   * that listing has ended, and never rejects); returns its removal.
   */
  onToolListChanged(listener: () => Promise<void>): () => void {
    this.listingWanted.add(listener);
    return () => this.listingWanted.delete(listener);
  }

  learn(names: Iterable<string>): void {
    const before = this.names.size;
    for (const name of names) {
      if (this.names.size >= this.limit) break;
      if (name.length <= 1024) this.names.add(name);
    }
    if (this.names.size !== before) this.onSize?.(this.names.size);
  }

  /** Whether a complete listing of the upstream's own has arrived: the names are its catalogue. */
  get hasCatalogue(): boolean {
    return this.catalogued;
  }

  /** Whether the upstream's catalogue is known and does not have this tool. */
  lacks(name: string): boolean {
    return this.catalogued && !this.names.has(name);
  }

  /** The upstream's answer to a call of a tool it does not have (learnt, else JSON-RPC invalid params). */
  answerMissing(id: RequestId, tool: string, modern: boolean): Record<string, unknown> {
    return this.missingTool.answer(id, tool, modern);
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  get size(): number {
    return this.names.size;
  }
}

function toolNames(tools: readonly unknown[]): string[] {
  return tools.flatMap((t) =>
    typeof t === "object" && t !== null && typeof (t as { name?: unknown }).name === "string"
      ? [(t as { name: string }).name]
      : [],
  );
}

export function followsNameGuidance(name: string): boolean {
  return GUIDANCE.test(name);
}

/** Why a tool name is refused before policy evaluation, or undefined when it may be decided. */
export function toolNameProblem(
  name: string,
  policy: CompiledPolicy | undefined,
  known: KnownTools,
): string | undefined {
  if (followsNameGuidance(name) || known.has(name) || policy?.namesTool(name)) return undefined;
  return (
    `Tool name ${JSON.stringify(name.length > 140 ? `${name.slice(0, 140)}…` : name)} is not a valid tool name: ` +
    "use the exact name from tools/list (letters, digits, '_', '.', '-', '/'; at most 128 characters)"
  );
}

/**
 * The `tool` label of a metric: the name when the upstream has the tool, else `_unknown`. Until the
 * sidecar's own listing has succeeded (the upstream still starting), names the policy names count
 * too, so a denial of a tool the policy is about is never lost in `_unknown`.
 */
export function toolLabel(name: string, policy: CompiledPolicy | undefined, known: KnownTools): string {
  if (known.has(name)) return name;
  return !known.hasCatalogue && policy?.namesTool(name) ? name : "_unknown";
}
