// The CEL environment every policy expression runs in: the variables `args`, `tool` and `caller`,
// the standard library plus the strings extension, and RE2 regular expressions (linear time, so an
// argument can never make `matches()` backtrack) with compiled patterns cached.
import { CelScalar, celEnv, listType, mapType } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { RE2JS } from "@bufbuild/re2";

/** The fields of `caller`; the checker knows them, so `caller.subject` fails at load. */
export const CALLER_FIELDS = {
  grant: CelScalar.STRING,
  sub: CelScalar.STRING,
  groups: listType(CelScalar.STRING),
  claims: mapType(CelScalar.STRING, CelScalar.DYN),
} as const;

export const VARIABLES = {
  args: mapType(CelScalar.STRING, CelScalar.DYN),
  tool: CelScalar.STRING,
  caller: mapType(CelScalar.STRING, CelScalar.DYN),
} as const;

/** What a policy expression sees of the caller. */
export interface CelCaller {
  grant: string;
  sub: string;
  groups: readonly string[];
  claims: Readonly<Record<string, unknown>>;
}

const PATTERN_CACHE_LIMIT = 512;
const patternCache = new Map<string, RE2JS>();

/** Compiles an RE2 pattern, keeping a bounded cache (patterns may come from arguments). */
export function compileRe2(pattern: string): RE2JS {
  let compiled = patternCache.get(pattern);
  if (compiled === undefined) {
    compiled = RE2JS.compile(pattern);
    if (patternCache.size >= PATTERN_CACHE_LIMIT) patternCache.clear();
    patternCache.set(pattern, compiled);
  }
  return compiled;
}

export const policyCelEnv = celEnv({
  variables: VARIABLES,
  funcs: strings,
  re2: { compile: compileRe2 },
});
