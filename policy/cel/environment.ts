// The CEL environment every policy expression runs in: the variables `args`, `tool` and `caller`,
// the standard library plus the strings extension, and RE2 regular expressions (linear time, so an
// argument can never make `matches()` backtrack) with compiled patterns cached. Everything here is
// built on first use: a policy without expressions never loads CEL (policy/libraries.ts).
import type { CelEnv, CelType } from "@bufbuild/cel";
import type { RE2JS } from "@bufbuild/re2";
import { celLibrary, celStringsExtension, re2Library } from "../libraries.ts";

/** The fields of `caller`; the checker knows them, so `caller.subject` fails at load. */
export function callerFields(): Readonly<Record<"grant" | "sub" | "groups" | "claims", CelType>> {
  return (callerFieldTypes ??= celCallerFields());
}
let callerFieldTypes: Readonly<Record<"grant" | "sub" | "groups" | "claims", CelType>> | undefined;

function celCallerFields() {
  const { CelScalar, listType, mapType } = celLibrary();
  return {
    grant: CelScalar.STRING,
    sub: CelScalar.STRING,
    groups: listType(CelScalar.STRING),
    claims: mapType(CelScalar.STRING, CelScalar.DYN),
  } as const;
}

/** The variables of tool expressions: `args`, `tool` and `caller`. */
export function policyVariables(): Readonly<Record<"args" | "tool" | "caller", CelType>> {
  return (variableTypes ??= celPolicyVariables());
}
let variableTypes: Readonly<Record<"args" | "tool" | "caller", CelType>> | undefined;

function celPolicyVariables() {
  const { CelScalar, mapType } = celLibrary();
  return {
    args: mapType(CelScalar.STRING, CelScalar.DYN),
    tool: CelScalar.STRING,
    caller: mapType(CelScalar.STRING, CelScalar.DYN),
  } as const;
}

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
    compiled = re2Library().compile(pattern);
    if (patternCache.size >= PATTERN_CACHE_LIMIT) patternCache.clear();
    patternCache.set(pattern, compiled);
  }
  return compiled;
}

/** A CEL environment with the policy's functions (standard library, strings, RE2) and `variables`. */
export function policyCelEnvWith(variables: Readonly<Record<string, CelType>>): CelEnv {
  return celLibrary().celEnv({ variables, funcs: celStringsExtension(), re2: { compile: compileRe2 } });
}

/** The environment of tool expressions (`require`, `denyIf`, conditions). */
export function policyCelEnv(): CelEnv {
  return (toolEnv ??= policyCelEnvWith(policyVariables()));
}
let toolEnv: CelEnv | undefined;
