// Canonical JSON per RFC 8785 (JSON Canonicalization Scheme): object members sorted by the UTF-16 code
// units of their names, no whitespace, strings and numbers written the way ECMAScript's
// JSON.stringify writes them (which is what JCS specifies). Two encodings of the same arguments
// (other key order, spacing, escapes, 1.0 for 1) canonicalise to the same text, so an approval bound
// to the digest of that text matches a retry of the same call however its client serialised it.
//
// One deliberate difference: JCS expects I-JSON and rejects lone surrogates; arguments can carry them
// (`"\ud800"` is valid JSON), and they are written as JSON.stringify escapes them, so every argument
// object the sidecar accepts has exactly one canonical form.

export class CanonicalJsonError extends Error {
  override name = "CanonicalJsonError";
}

export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} has no JSON form`);
      return JSON.stringify(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
      // Array.prototype.sort compares strings by UTF-16 code units, which is JCS's member order.
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .sort()
        .filter((key) => record[key] !== undefined)
        .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
      return `{${members.join(",")}}`;
    }
    default:
      throw new CanonicalJsonError(`a ${typeof value} has no JSON form`);
  }
}
