// Request bodies two readers read differently: UTF-7 (which body-parser decodes when the request's
// Content-Type says so, and which reads as plain ASCII to a UTF-8 reader) and look-alike text.

/** One character as a UTF-7 base64 run: `"` → `+ACI-`. */
function utf7Char(ch: string): string {
  const utf16be = Buffer.from(ch, "utf16le").swap16();
  return `+${utf16be.toString("base64").replace(/=+$/, "")}-`;
}

/**
 * `text` with every JSON structural character written in UTF-7: ASCII without a double quote, so a
 * UTF-8 reader sees the inside of one JSON string, and a UTF-7 reader sees the JSON it spells.
 */
export function utf7Structure(text: string): string {
  return text.replace(/["{}[\]\\]/g, utf7Char);
}

/**
 * A JSON text that is one thing read as UTF-8 and another read as UTF-7: `inner` (JSON members,
 * e.g. `"name":"x"`) is appended to the object that holds `field`, after `field`'s own value. Read as
 * UTF-8 it is the string value of `field`; read as UTF-7 the string closes early and `inner`'s members
 * follow, overriding earlier ones (JSON.parse keeps the last of duplicate keys).
 */
export function smuggle(message: Record<string, unknown>, path: readonly string[], inner: string): string {
  const placeholder = "SMUGGLED-MEMBERS";
  const copy = structuredClone(message);
  let at: Record<string, unknown> = copy;
  for (const key of path) at = at[key] as Record<string, unknown>;
  at.note = placeholder;
  return JSON.stringify(copy).replace(`"${placeholder}"`, `"${utf7Structure(`",${inner},"z":"`)}"`);
}

export const UTF7_CONTENT_TYPE = 'application/json; foo="; charset=utf-8"; charset=utf-7';
