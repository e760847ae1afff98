// Result rules compiled once per policy: which detectors each tool's results are scanned for (the
// union of the rules that apply: allTools, the tool's own rule or the globs that name it), which of
// them redact and which withhold, the size bound and the CEL conditions. One scanner per set of
// rules, so a result is scanned once whatever number of rules apply.
import type { DocPath } from "../paths.ts";
import type { DetectorSpec, ResultRulesSpec } from "../schema-results.ts";
import { BUILTIN_DETECTORS, DETECTOR_GROUPS, type DetectorDefinition } from "./detectors.ts";
import { compileResultCel, type ResultPredicate } from "./result-cel.ts";
import { compileDetector, patternProblem, Scanner, type CompiledDetector } from "./scanner.ts";

export interface ResultCondition {
  readonly pointer: string;
  readonly source: string;
  readonly predicate: ResultPredicate;
}

/** What happens to the results of one tool. */
export interface ResultPlan {
  /** Detectors whose matches are redacted. */
  readonly redact: ReadonlySet<string>;
  /** Detectors of which a match withholds the result. */
  readonly denyIf: ReadonlySet<string>;
  /** Scans for every detector of `redact` and `denyIf`; undefined when there are none. */
  readonly scanner: Scanner | undefined;
  readonly maxBytes: { readonly limit: number; readonly pointer: string } | undefined;
  readonly withholdIf: readonly ResultCondition[];
  /** The rules this plan was made of (JSON Pointers to their `results`), for audit lines and explain. */
  readonly pointers: readonly string[];
  readonly reason: string | undefined;
}

/** The `results` of one policy entry, with where it is. */
export interface ResultRulesAt {
  readonly rules: ResultRulesSpec;
  readonly path: DocPath;
}

export interface ResultRulesCompiler {
  /** Reports the problems of one entry's rules (unknown detectors, CEL errors); call once per entry. */
  check(at: ResultRulesAt): void;
  /** The plan of the rules that apply to a tool; undefined when none do. Memoised by the rules. */
  planFor(applying: readonly ResultRulesAt[]): ResultPlan | undefined;
}

type Problem = (path: DocPath, message: string) => void;

/**
 * The size bound of results that are scanned when no rule sets maxBytes: scanning costs CPU on the
 * event loop in proportion to the answer (about 60 ms per MiB with every detector), so a result the
 * detectors would take long over is refused rather than scanned. A rule's maxBytes overrides it.
 */
export const DEFAULT_SCANNED_MAX_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_BYTES_RULE = "(default maxBytes of scanned results)";

const PLAN_CACHE_LIMIT = 4096;

export function createResultRulesCompiler(
  detectorSpecs: readonly DetectorSpec[] | undefined,
  problem: Problem,
  pointer: (path: DocPath) => string,
): ResultRulesCompiler {
  const definitions = new Map<string, DetectorDefinition>(BUILTIN_DETECTORS.map((d) => [d.name, d]));
  (detectorSpecs ?? []).forEach((d, i) => {
    if (definitions.has(d.name) || Object.hasOwn(DETECTOR_GROUPS, d.name) || d.name === "all") {
      problem(["detectors", i, "name"], `"${d.name}" is the name of a built-in detector or group; choose another name`);
      return;
    }
    const wrong = patternProblem(d.pattern);
    if (wrong) problem(["detectors", i, "pattern"], wrong);
    else if (d.minEntropy !== undefined && d.validator !== "entropy")
      problem(["detectors", i, "minEntropy"], "only applies with validator entropy");
    else
      definitions.set(d.name, {
        name: d.name,
        pattern: d.pattern,
        validator: d.validator,
        minEntropy: d.minEntropy,
        description: d.description ?? "",
      });
  });
  const compiled = new Map<string, CompiledDetector>();
  const detector = (name: string): CompiledDetector => {
    let c = compiled.get(name);
    if (c === undefined) compiled.set(name, (c = compileDetector(definitions.get(name) as DetectorDefinition)));
    return c;
  };
  const expand = (names: readonly string[]): string[] =>
    names.flatMap((n) => (n === "all" ? [...definitions.keys()] : (DETECTOR_GROUPS[n] ?? [n])));
  const conditions = new Map<string, ResultCondition[]>();

  const check = (at: ResultRulesAt): void => {
    for (const field of ["redact", "denyIf"] as const) {
      (at.rules[field] ?? []).forEach((name, i) => {
        if (name !== "all" && !Object.hasOwn(DETECTOR_GROUPS, name) && !definitions.has(name)) {
          problem(
            [...at.path, field, i],
            `unknown detector "${name}" (built-in: ${BUILTIN_DETECTORS.map((d) => d.name).join(", ")}; groups: all, ${Object.keys(DETECTOR_GROUPS).join(", ")})`,
          );
        }
      });
    }
    const compiledConditions: ResultCondition[] = [];
    (at.rules.withholdIf ?? []).forEach((source, i) => {
      const c = compileResultCel(source);
      if (!c.ok) problem([...at.path, "withholdIf", i], c.problem);
      else compiledConditions.push({ pointer: pointer([...at.path, "withholdIf", i]), source, predicate: c.predicate });
    });
    conditions.set(pointer(at.path), compiledConditions);
    // Compiled now, at load, not at the first call that needs them.
    for (const name of expand([...(at.rules.redact ?? []), ...(at.rules.denyIf ?? [])]))
      if (definitions.has(name)) detector(name);
    const empty = ["redact", "denyIf", "maxBytes", "withholdIf"].every(
      (f) => at.rules[f as keyof ResultRulesSpec] === undefined,
    );
    if (empty) problem(at.path, "has no effect: set redact, denyIf, maxBytes or withholdIf");
  };

  const plans = new Map<string, ResultPlan>();
  const planFor = (applying: readonly ResultRulesAt[]): ResultPlan | undefined => {
    if (applying.length === 0) return undefined;
    const key = applying.map((a) => pointer(a.path)).join(" ");
    const known = plans.get(key);
    if (known) return known;
    const redact = new Set(applying.flatMap((a) => expand(a.rules.redact ?? [])));
    const denyIf = new Set(applying.flatMap((a) => expand(a.rules.denyIf ?? [])));
    // In catalogue order (specific detectors before high-entropy, the policy's own last): overlapping
    // findings are named after the first.
    const scanned = [...definitions.keys()].filter((n) => denyIf.has(n) || redact.has(n));
    let maxBytes: ResultPlan["maxBytes"];
    for (const a of applying) {
      const limit = a.rules.maxBytes;
      if (limit !== undefined && (maxBytes === undefined || limit < maxBytes.limit))
        maxBytes = { limit, pointer: pointer([...a.path, "maxBytes"]) };
    }
    if (maxBytes === undefined && scanned.length > 0)
      maxBytes = { limit: DEFAULT_SCANNED_MAX_BYTES, pointer: DEFAULT_MAX_BYTES_RULE };
    const plan: ResultPlan = Object.freeze({
      redact,
      denyIf,
      scanner: scanned.length > 0 ? new Scanner(scanned.map(detector)) : undefined,
      maxBytes,
      withholdIf: applying.flatMap((a) => conditions.get(pointer(a.path)) ?? []),
      pointers: applying.map((a) => pointer(a.path)),
      reason: applying.map((a) => a.rules.reason).find((r) => r !== undefined),
    });
    // Tool names (and so combinations of matching globs) are chosen by callers: the memo is bounded.
    if (plans.size >= PLAN_CACHE_LIMIT) plans.clear();
    plans.set(key, plan);
    return plan;
  };

  return { check, planFor };
}

/** Every detector a policy can name: the built-in ones and its own. */
export function detectorCatalogue(detectorSpecs: readonly DetectorSpec[] | undefined): DetectorDefinition[] {
  return [
    ...BUILTIN_DETECTORS,
    ...(detectorSpecs ?? []).map((d) => ({
      name: d.name,
      pattern: d.pattern,
      validator: d.validator,
      minEntropy: d.minEntropy,
      description: d.description ?? "",
    })),
  ];
}
