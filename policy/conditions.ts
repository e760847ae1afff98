// PolicyLayer/Intercept argument conditions `{path, op, value}` rewritten as CEL, so both policy
// formats run on one evaluator. A condition on an argument that is absent is false (except
// `exists: false`), as in Intercept; `require` therefore denies a call that omits the argument.
import { z } from "zod";
import { compileRe2 } from "./cel/environment.ts";

export const CONDITION_OPS = [
  "eq",
  "neq",
  "in",
  "not_in",
  "lt",
  "lte",
  "gt",
  "gte",
  "regex",
  "contains",
  "exists",
] as const;

export const Condition = z.strictObject({
  path: z.string().min(1).max(512),
  op: z.enum(CONDITION_OPS),
  value: z.unknown().optional(),
});
export type ConditionType = z.infer<typeof Condition>;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set([
  "true",
  "false",
  "null",
  "in",
  "as",
  "break",
  "const",
  "continue",
  "else",
  "for",
  "function",
  "if",
  "import",
  "let",
  "loop",
  "package",
  "namespace",
  "return",
  "var",
  "void",
  "while",
]);

/** The CEL form of a condition, or a problem naming what is wrong with it. */
export function conditionToCel(condition: ConditionType): { cel: string } | { problem: string } {
  const segments = condition.path.split(".");
  if (segments[0] !== "args" || segments.length < 2 || segments.some((s) => s === "")) {
    return { problem: `path must look like "args.<field>[.<field>…]", got "${condition.path}"` };
  }
  const fields = segments.slice(1);
  const access = fields.reduce((expr, field) => expr + selector(field), "args");
  const presence = fields
    .map((field, i) => {
      const parent = fields.slice(0, i).reduce((e, f) => e + selector(f), "args");
      return isIdentifier(field) ? `has(${parent}.${field})` : `${celString(field)} in ${parent}`;
    })
    .join(" && ");
  const { op, value } = condition;

  const requireValue = (kind: string, ok: boolean): { problem: string } | undefined =>
    ok ? undefined : { problem: `operator "${op}" needs ${kind} value` };

  let test: string;
  switch (op) {
    case "exists": {
      const bad = requireValue("a boolean (or no)", value === undefined || typeof value === "boolean");
      if (bad) return bad;
      return { cel: value === false ? `!(${presence})` : presence };
    }
    case "eq":
    case "neq": {
      const bad = requireValue("a", value !== undefined);
      if (bad) return bad;
      test = `${access} ${op === "eq" ? "==" : "!="} ${celLiteral(value)}`;
      break;
    }
    case "in":
    case "not_in": {
      const bad = requireValue("a list", Array.isArray(value));
      if (bad) return bad;
      test = op === "in" ? `${access} in ${celLiteral(value)}` : `!(${access} in ${celLiteral(value)})`;
      break;
    }
    case "lt":
    case "lte":
    case "gt":
    case "gte": {
      const bad = requireValue("a numeric", typeof value === "number" && Number.isFinite(value));
      if (bad) return bad;
      const symbol = { lt: "<", lte: "<=", gt: ">", gte: ">=" }[op];
      test = `${access} ${symbol} ${celLiteral(value)}`;
      break;
    }
    case "regex": {
      if (typeof value !== "string") return { problem: `operator "regex" needs a string value` };
      try {
        compileRe2(value);
      } catch (err) {
        return { problem: `invalid regular expression "${value}": ${(err as Error).message}` };
      }
      test = `${access}.matches(${celLiteral(value)})`;
      break;
    }
    case "contains": {
      const bad = requireValue("a", value !== undefined);
      if (bad) return bad;
      const v = celLiteral(value);
      test = `(type(${access}) == string ? ${access}.contains(${v}) : ${v} in ${access})`;
      break;
    }
  }
  return { cel: `${presence} && ${test}` };
}

function isIdentifier(field: string): boolean {
  return IDENTIFIER.test(field) && !RESERVED.has(field);
}

function selector(field: string): string {
  return isIdentifier(field) ? `.${field}` : `[${celString(field)}]`;
}

function celString(s: string): string {
  return JSON.stringify(s);
}

/** A JSON value as a CEL literal. */
export function celLiteral(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return celString(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return String(value);
    return Number.isInteger(value) ? value.toExponential() : String(value);
  }
  if (Array.isArray(value)) return `[${value.map(celLiteral).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value)
      .map(([k, v]) => `${celString(k)}: ${celLiteral(v)}`)
      .join(", ")}}`;
  }
  return "null";
}
