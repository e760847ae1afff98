// The inputSchema of each tool the upstream lists, by tool name, for `spec.arguments: strict`. Learnt
// from the sidecar's own tools/list (a complete listing replaces what is known) and from the
// tools/list answers agents receive through the proxy (pages merge in). Compiled on first use, each
// distinct schema once; bounded, so a misbehaving upstream cannot grow it without limit.
import {
  createDeclaredSchemaCompiler,
  type DeclaredInputSchemas,
  type DeclaredSchema,
} from "../../policy/input-schemas.ts";

interface Entry {
  /**
   * The schema's JSON text (undefined when the tool declares none): what a re-listing compares, the
   * compile cache's key, and what is compiled (a copy: the answer it came from is relayed on).
   */
  readonly text: string | undefined;
  compiled?: DeclaredSchema;
}

/** A tool's schema larger than this is not compiled; calls to the tool fail closed. */
const MAX_SCHEMA_CHARS = 1024 * 1024;

export class ToolInputSchemas implements DeclaredInputSchemas {
  private entries = new Map<string, Entry>();
  private readonly limit: number;
  private readonly compile = createDeclaredSchemaCompiler();
  private warming = false;
  private warmAgain = false;
  private warmAhead = true;

  constructor(limit = 10_000) {
    this.limit = limit;
  }

  /** Tools from a tools/list answer (one page of it): added or updated, the others kept. */
  learn(tools: readonly unknown[]): void {
    for (const tool of tools) {
      const parsed = readTool(tool);
      if (!parsed) continue;
      if (!this.entries.has(parsed.name) && this.entries.size >= this.limit) continue;
      this.put(this.entries, parsed.name, parsed.schema);
    }
  }

  /** A complete listing (every page): what it does not name is no longer a tool. */
  replace(tools: readonly unknown[]): void {
    const next = new Map<string, Entry>();
    for (const tool of tools) {
      const parsed = readTool(tool);
      if (!parsed || next.size >= this.limit) continue;
      const previous = this.entries.get(parsed.name);
      if (previous) next.set(parsed.name, previous);
      this.put(next, parsed.name, parsed.schema);
    }
    this.entries = next;
  }

  /**
   * Whether `warm` compiles schemas ahead of calls (the default). The sidecar turns it on only while
   * its policy is strict, so a sidecar that never checks declared schemas never loads Ajv for them;
   * `lookup` still compiles on demand either way.
   */
  warmWhile(wanted: boolean): void {
    this.warmAhead = wanted;
    if (wanted) this.warm();
  }

  /**
   * Compiles what is not compiled yet, one schema per turn of the event loop, so that the first call
   * of a tool does not pay for it (the first schema also builds the Ajv instance, about 0.1 s).
   */
  warm(): void {
    if (!this.warmAhead) return;
    if (this.warming) {
      this.warmAgain = true;
      return;
    }
    this.warming = true;
    this.warmAgain = false;
    const names = [...this.entries.keys()];
    let i = 0;
    const step = () => {
      while (i < names.length) {
        const entry = this.entries.get(names[i++] as string);
        if (entry && entry.compiled === undefined) {
          entry.compiled = this.compiled(entry.text);
          setImmediate(step);
          return;
        }
      }
      this.warming = false;
      if (this.warmAgain) this.warm();
    };
    setImmediate(step);
  }

  lookup(tool: string): DeclaredSchema | undefined {
    const entry = this.entries.get(tool);
    if (!entry) return undefined;
    entry.compiled ??= this.compiled(entry.text);
    return entry.compiled;
  }

  get size(): number {
    return this.entries.size;
  }

  private compiled(text: string | undefined): DeclaredSchema {
    if (text === undefined) return { problem: "the tool declares no inputSchema" };
    if (text.length > MAX_SCHEMA_CHARS)
      return { problem: `the tool's inputSchema is larger than ${MAX_SCHEMA_CHARS} characters` };
    return this.compile(JSON.parse(text), text);
  }

  private put(into: Map<string, Entry>, name: string, schema: unknown): void {
    let text: string | undefined;
    try {
      text = schema === undefined ? undefined : JSON.stringify(schema);
    } catch {
      // Not JSON text (a value only a reader's extension produces): nothing to check against.
      into.set(name, { text: undefined, compiled: { problem: "the tool's inputSchema cannot be read as JSON" } });
      return;
    }
    const previous = into.get(name);
    if (previous && previous.text === text && !(previous.compiled && "problem" in previous.compiled)) return;
    into.set(name, { text });
  }
}

function readTool(tool: unknown): { name: string; schema: unknown } | undefined {
  if (typeof tool !== "object" || tool === null) return undefined;
  const { name, inputSchema } = tool as { name?: unknown; inputSchema?: unknown };
  if (typeof name !== "string" || name.length > 1024) return undefined;
  return { name, schema: inputSchema };
}
