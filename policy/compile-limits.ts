// Rate limits compiled: each window parsed once, and each counter name checked to be one budget, that
// is defined the same way (window, max, scope) wherever the policy uses it.
import type { CompileContext } from "./compile-context.ts";
import { parseDuration } from "./duration.ts";
import type { DocPath } from "./paths.ts";
import type { CompiledLimit } from "./plan.ts";
import { refundClasses } from "./schema-refund.ts";
import type { LimitSpec } from "./schema.ts";

export interface LimitCompiler {
  /** The compiled limit, or undefined (with a problem reported) when its window does not parse. */
  readonly compileLimit: (limit: LimitSpec, specPath: DocPath, privateName: string) => CompiledLimit | undefined;
  /** Whether some counter is global (a distributed store then keeps the policy's budgets together). */
  readonly hasGlobalCounter: () => boolean;
}

export function createLimitCompiler(ctx: CompileContext): LimitCompiler {
  const counters = new Map<string, { limit: CompiledLimit; path: DocPath }>();
  const compileLimit = (limit: LimitSpec, specPath: DocPath, privateName: string): CompiledLimit | undefined => {
    const windowMs = parseDuration(limit.window);
    if (windowMs === undefined) {
      ctx.problem([...specPath, "window"], `invalid window "${limit.window}"`);
      return undefined;
    }
    const compiled: CompiledLimit = {
      pointer: ctx.pointer(specPath),
      counter: limit.counter ?? privateName,
      window: limit.window,
      windowMs,
      max: limit.max,
      scope: limit.scope,
      refundOn: refundClasses(limit),
    };
    const existing = counters.get(compiled.counter);
    if (!existing) counters.set(compiled.counter, { limit: compiled, path: specPath });
    else checkSameBudget(ctx, existing, compiled, specPath);
    return compiled;
  };
  return { compileLimit, hasGlobalCounter: () => [...counters.values()].some((c) => c.limit.scope === "global") };
}

/** One counter is one budget: a second use must define it as the first did. */
function checkSameBudget(
  ctx: CompileContext,
  existing: { limit: CompiledLimit; path: DocPath },
  compiled: CompiledLimit,
  specPath: DocPath,
): void {
  const a = existing.limit;
  if (a.windowMs !== compiled.windowMs || a.max !== compiled.max || a.scope !== compiled.scope) {
    ctx.problem(
      specPath,
      `counter "${compiled.counter}" is already defined at ${ctx.describe(existing.path)} as ${a.max} per ${a.window} per ${a.scope}; ` +
        `one counter is one budget, so every use must define it the same way`,
    );
  }
}
