// RFC 8785 JSON Canonicalization Scheme (JCS): the one serialisation of a JSON value that two parties
// agree on byte for byte, so a digest over it names the value and not its formatting. Object members
// are sorted by their names' UTF-16 code units; numbers are written as ECMAScript writes them (which is
// what RFC 8785 specifies, so JSON.stringify's number and string serialisation is already canonical);
// no whitespace. Values JSON cannot carry (non-finite numbers, undefined, functions) are errors.

/** The canonical JSON text of `value` (RFC 8785). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`${value} cannot be written in JSON`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    // Default sort compares UTF-16 code units, which is JCS's order (not code points, not locale).
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  throw new TypeError(`a ${typeof value} cannot be written in JSON`);
}
