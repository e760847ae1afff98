// One location type for every place in a policy document, rendered two ways: as a field path for
// error messages (`spec.tools[3].denyIf[0]`) and as a JSON Pointer for deciding rules
// (`/spec/tools/3/denyIf/0`, RFC 6901).
export type PathSegment = string | number;
export type DocPath = readonly PathSegment[];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function fieldPath(path: DocPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === "" ? "(document)" : out;
}

export function jsonPointer(path: DocPath): string {
  return path.map((seg) => "/" + String(seg).replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}

/** A problem found in a policy, located by the path of the field that has it. */
export interface PolicyProblem {
  path: DocPath;
  message: string;
}

export function formatProblem(problem: PolicyProblem): string {
  return `${fieldPath(problem.path)}: ${problem.message}`;
}

/** Thrown when a policy cannot be loaded; carries every problem found, not just the first. */
export class PolicyError extends Error {
  readonly problems: readonly PolicyProblem[];

  constructor(problems: readonly PolicyProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "PolicyError";
    this.problems = problems;
  }
}
