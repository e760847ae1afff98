// A static type checker for policy expressions, so that a typo or a type error is reported when a
// policy loads rather than when an agent's call happens to reach it. @bufbuild/cel evaluates but does
// not check calls, so this resolves every call against the overloads registered in the environment.
// `args` is a map of dyn: what arguments hold is only known at run time, and there the engine denies.
import type { CelEnv, CelFunc, CelType, parse } from "@bufbuild/cel";
import { compileRe2 } from "./environment.ts";

type Expr = ReturnType<typeof parse>["expr"];

/** The checker's view of a type: a name plus element types for lists and maps. */
interface T {
  readonly name: string;
  readonly elem?: T;
  readonly key?: T;
  readonly value?: T;
  /** Known fields of an object-like map (`caller`). */
  readonly fields?: Readonly<Record<string, T>>;
}

const DYN: T = { name: "dyn" };
const BOOL: T = { name: "bool" };
const TYPE: T = { name: "type" };
const TYPE_NAMES = new Set([
  "bool",
  "int",
  "uint",
  "double",
  "string",
  "bytes",
  "list",
  "map",
  "null_type",
  "type",
  "dyn",
]);
const NUMERIC = new Set(["int", "uint", "double"]);

function fromCel(t: CelType): T {
  if (t.kind === "list") return { name: "list", elem: fromCel(t.element) };
  if (t.kind === "map") return { name: "map", key: fromCel(t.key), value: fromCel(t.value) };
  if (t.name === "google.protobuf.Timestamp") return { name: "timestamp" };
  if (t.name === "google.protobuf.Duration") return { name: "duration" };
  return { name: t.name };
}

function show(t: T): string {
  if (t.name === "list") return `list(${show(t.elem ?? DYN)})`;
  if (t.name === "map") return `map(${show(t.key ?? DYN)}, ${show(t.value ?? DYN)})`;
  return t.name;
}

function assignable(param: T, arg: T): boolean {
  if (param.name === "dyn" || arg.name === "dyn") return true;
  if (param.name !== arg.name) return false;
  if (param.name === "list") return assignable(param.elem ?? DYN, arg.elem ?? DYN);
  if (param.name === "map")
    return assignable(param.key ?? DYN, arg.key ?? DYN) && assignable(param.value ?? DYN, arg.value ?? DYN);
  return true;
}

function join(a: T, b: T): T {
  if (a.name === b.name && a.name !== "list" && a.name !== "map") return a;
  if (a.name === "null_type") return b;
  if (b.name === "null_type") return a;
  return a.name === b.name ? { name: a.name, elem: DYN, key: DYN, value: DYN } : DYN;
}

class CheckError extends Error {}

export interface CheckOptions {
  /** Variables and their types, e.g. `args: map(string, dyn)`. */
  variables: Readonly<Record<string, CelType>>;
  /** Variables that are objects with known fields. */
  objects?: Readonly<Record<string, Readonly<Record<string, CelType>>>>;
}

/** Returns the problem with an expression, or undefined when it is well typed and yields a bool. */
export function checkExpression(env: CelEnv, expr: Expr, options: CheckOptions): string | undefined {
  const overloads = overloadTable(env);
  const globals = new Map<string, T>();
  for (const [name, type] of Object.entries(options.variables)) globals.set(name, fromCel(type));
  for (const [name, fields] of Object.entries(options.objects ?? {})) {
    const known: Record<string, T> = {};
    for (const [field, type] of Object.entries(fields)) known[field] = fromCel(type);
    globals.set(name, { name: "map", key: { name: "string" }, value: DYN, fields: known });
  }
  const scopes: Map<string, T>[] = [];

  const lookup = (name: string): T => {
    for (let i = scopes.length - 1; i >= 0; i--) {
      const found = scopes[i]?.get(name);
      if (found) return found;
    }
    const global = globals.get(name);
    if (global) return global;
    if (TYPE_NAMES.has(name)) return TYPE;
    const known = [...globals.keys()].join(", ");
    throw new CheckError(`undeclared reference '${name}' (known variables: ${known})`);
  };

  const call = (fn: string, target: T | undefined, args: T[], argExprs: Expr[]): T => {
    switch (fn) {
      case "_&&_":
      case "_||_":
      case "@not_strictly_false":
        for (const a of args)
          if (!assignable(BOOL, a)) throw new CheckError(`'${fn}' needs bool operands, got ${show(a)}`);
        return BOOL;
      case "_?_:_":
        if (!assignable(BOOL, args[0] ?? DYN))
          throw new CheckError(`a condition must be a bool, got ${show(args[0] ?? DYN)}`);
        return join(args[1] ?? DYN, args[2] ?? DYN);
      case "_[_]":
        return index(args[0] ?? DYN, args[1] ?? DYN);
      case "_==_":
      case "_!=_":
        return equality(fn, args[0] ?? DYN, args[1] ?? DYN);
    }
    const candidates = overloads.get(fn);
    if (!candidates) throw new CheckError(`undeclared reference '${fn}'`);
    const results: T[] = [];
    for (const f of candidates) {
      if ((f.target === undefined) !== (target === undefined)) continue;
      if (f.arguments.length !== args.length) continue;
      if (target && f.target && !assignable(fromCel(f.target), target)) continue;
      if (!f.arguments.every((p, i) => assignable(fromCel(p), args[i] ?? DYN))) continue;
      results.push(fromCel(f.result));
    }
    if (results.length === 0) {
      const shown = [target, ...args]
        .filter((a): a is T => a !== undefined)
        .map(show)
        .join(", ");
      throw new CheckError(`found no matching overload for '${fn}' applied to (${shown})`);
    }
    if (fn === "matches") validateConstantPattern(argExprs[0]);
    const first = results[0] ?? DYN;
    return results.every((r) => show(r) === show(first)) ? first : DYN;
  };

  const visit = (e: Expr): T => {
    const k = e.exprKind;
    switch (k.case) {
      case "constExpr":
        return constantType(k.value.constantKind.case);
      case "identExpr":
        return lookup(k.value.name);
      case "selectExpr": {
        const operand = k.value.operand;
        if (!operand) throw new CheckError("malformed selection");
        const t = select(visit(operand), k.value.field);
        return k.value.testOnly ? BOOL : t;
      }
      case "callExpr": {
        const target = k.value.target ? visit(k.value.target) : undefined;
        const args = k.value.args.map(visit);
        return call(k.value.function, target, args, k.value.args);
      }
      case "listExpr": {
        let elem: T | undefined;
        for (const el of k.value.elements) {
          const t = visit(el);
          elem = elem === undefined ? t : join(elem, t);
        }
        return { name: "list", elem: elem ?? DYN };
      }
      case "structExpr": {
        if (k.value.messageName !== "")
          throw new CheckError(`message construction '${k.value.messageName}' is not supported`);
        let key: T | undefined;
        let value: T | undefined;
        for (const entry of k.value.entries) {
          if (entry.keyKind.case !== "mapKey" || !entry.value) throw new CheckError("malformed map literal");
          const kt = visit(entry.keyKind.value);
          const vt = visit(entry.value);
          key = key === undefined ? kt : join(key, kt);
          value = value === undefined ? vt : join(value, vt);
        }
        return { name: "map", key: key ?? DYN, value: value ?? DYN };
      }
      case "comprehensionExpr": {
        const c = k.value;
        if (!c.iterRange || !c.accuInit || !c.loopCondition || !c.loopStep || !c.result)
          throw new CheckError("malformed macro");
        const range = visit(c.iterRange);
        const iter =
          range.name === "list"
            ? (range.elem ?? DYN)
            : range.name === "map"
              ? (range.key ?? DYN)
              : range.name === "dyn"
                ? DYN
                : undefined;
        if (iter === undefined) throw new CheckError(`cannot iterate over ${show(range)}`);
        const accu = visit(c.accuInit);
        const loop = new Map<string, T>([
          [c.iterVar, iter],
          [c.accuVar, accu],
        ]);
        if (c.iterVar2) loop.set(c.iterVar2, range.name === "map" ? (range.value ?? DYN) : DYN);
        scopes.push(loop);
        visit(c.loopCondition);
        visit(c.loopStep);
        scopes.pop();
        scopes.push(new Map([[c.accuVar, accu]]));
        const result = visit(c.result);
        scopes.pop();
        return result;
      }
      default:
        throw new CheckError("unsupported expression");
    }
  };

  try {
    const result = visit(expr);
    if (!assignable(BOOL, result)) return `must evaluate to a bool, not ${show(result)}`;
    return undefined;
  } catch (err) {
    if (err instanceof CheckError) return err.message;
    throw err;
  }
}

function constantType(kind: string | undefined): T {
  switch (kind) {
    case "boolValue":
      return BOOL;
    case "int64Value":
      return { name: "int" };
    case "uint64Value":
      return { name: "uint" };
    case "doubleValue":
      return { name: "double" };
    case "stringValue":
      return { name: "string" };
    case "bytesValue":
      return { name: "bytes" };
    case "nullValue":
      return { name: "null_type" };
    default:
      throw new CheckError(`unsupported constant`);
  }
}

function select(operand: T, field: string): T {
  if (operand.fields) {
    const t = operand.fields[field];
    if (!t) throw new CheckError(`undefined field '${field}' (fields: ${Object.keys(operand.fields).join(", ")})`);
    return t;
  }
  if (operand.name === "map") return operand.value ?? DYN;
  if (operand.name === "dyn") return DYN;
  throw new CheckError(`type '${show(operand)}' has no field '${field}'`);
}

function index(operand: T, key: T): T {
  if (operand.name === "list") {
    if (!assignable({ name: "int" }, key) && key.name !== "uint")
      throw new CheckError(`a list index must be an int, got ${show(key)}`);
    return operand.elem ?? DYN;
  }
  if (operand.name === "map") {
    if (operand.fields && key.name === "string") return DYN;
    if (!assignable(operand.key ?? DYN, key))
      throw new CheckError(`map key must be ${show(operand.key ?? DYN)}, got ${show(key)}`);
    return operand.value ?? DYN;
  }
  if (operand.name === "dyn") return DYN;
  throw new CheckError(`type '${show(operand)}' cannot be indexed`);
}

function equality(fn: string, a: T, b: T): T {
  const comparable =
    assignable(a, b) ||
    (NUMERIC.has(a.name) && NUMERIC.has(b.name)) ||
    a.name === "null_type" ||
    b.name === "null_type";
  if (!comparable) throw new CheckError(`found no matching overload for '${fn}' applied to (${show(a)}, ${show(b)})`);
  return BOOL;
}

function validateConstantPattern(arg: Expr | undefined): void {
  if (arg?.exprKind.case !== "constExpr" || arg.exprKind.value.constantKind.case !== "stringValue") return;
  const pattern = arg.exprKind.value.constantKind.value;
  try {
    compileRe2(pattern);
  } catch (err) {
    throw new CheckError(`invalid regular expression '${pattern}': ${(err as Error).message}`);
  }
}

const tables = new WeakMap<CelEnv, Map<string, CelFunc[]>>();
function overloadTable(env: CelEnv): Map<string, CelFunc[]> {
  let table = tables.get(env);
  if (!table) {
    table = new Map();
    for (const f of env.funcs) {
      const list = table.get(f.name);
      if (list) list.push(f);
      else table.set(f.name, [f]);
    }
    tables.set(env, table);
  }
  return table;
}
