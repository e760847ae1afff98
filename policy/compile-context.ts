// Where the problems of a policy being compiled are collected, each with the path of its field in the
// policy document (the YAML or the Kubernetes object), so that every compile step reports the same way.
import type { LoadedPolicy } from "./load.ts";
import { fieldPath, jsonPointer, type DocPath, type PolicyProblem } from "./paths.ts";

export interface CompileContext {
  /** Every problem so far: the loader's, then the compile steps'. */
  readonly problems: PolicyProblem[];
  /** Reports a problem at a path of `spec`. */
  readonly problem: (specPath: DocPath, message: string) => void;
  /** The JSON Pointer of a path of `spec` in the document (rule names in decisions and audit lines). */
  readonly pointer: (specPath: DocPath) => string;
  /** A path of `spec` as a reader finds it in the document ("spec.tools[2].name"). */
  readonly describe: (specPath: DocPath) => string;
}

export function compileContext(loaded: LoadedPolicy): CompileContext {
  const problems: PolicyProblem[] = [...loaded.problems];
  const at = (specPath: DocPath): DocPath => loaded.docPath(specPath);
  return {
    problems,
    problem: (specPath, message) => problems.push({ path: at(specPath), message }),
    pointer: (specPath) => jsonPointer(at(specPath)),
    describe: (specPath) => fieldPath(at(specPath)),
  };
}
