// A JSON text the sidecar relays as it is, inside the JSON it writes itself: an upstream answer that
// the fast path (ADR 0118) validated and changed only by splicing in the client's id.

export class JsonText {
  /** One JSON value, validated, without line breaks (it may be an SSE `data:` line). */
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }
}

/** `JSON.stringify`, with a JsonText (the value itself, or an element of the array) written as its text. */
export function jsonOf(value: unknown): string {
  if (value instanceof JsonText) return value.text;
  if (Array.isArray(value) && value.some((v) => v instanceof JsonText)) return `[${value.map(jsonOf).join(",")}]`;
  return JSON.stringify(value);
}
