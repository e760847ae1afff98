// The JSON Patch (RFC 6902) that turns the pod the API server sent into the injected pod, computed
// by diffing the two rather than by writing patch operations by hand.
import jsonpatch, { type Operation } from "fast-json-patch";

export type PatchOperation = Operation;

export function diffPatch(before: unknown, after: unknown): PatchOperation[] {
  return jsonpatch.compare(before as object, after as object);
}

/** Applies a patch to a copy (tests, and the check that a patch does what the diff said). */
export function applyPatch<T>(document: T, patch: readonly PatchOperation[]): T {
  return jsonpatch.applyPatch(structuredClone(document), patch as Operation[], true, false).newDocument;
}
