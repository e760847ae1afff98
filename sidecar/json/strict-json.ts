// Strict reading of request bodies. JSON.parse silently keeps the last of duplicate keys, accepts any
// nesting depth and rounds integers it cannot represent; the upstream's parser may keep the first key
// or exact integers. A proxy that decides on one reading while the upstream acts on another can be
// talked past, so this scanner rejects every body two conforming parsers could read differently,
// then lets JSON.parse (native, fast) build the value.

export interface StrictJsonLimits {
  /** Deepest nesting of objects and arrays accepted (the top-level value is depth 1). */
  readonly maxDepth: number;
}

/** A body that is not strict JSON; `offset` is the UTF-16 offset where the problem was found. */
export class JsonInputError extends Error {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = "JsonInputError";
    this.offset = offset;
  }
}

export interface StrictJson {
  /** The text that was read. */
  readonly text: string;
  readonly value: unknown;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
/** Integers with at most this many digits are always exact as doubles. */
const ALWAYS_EXACT_DIGITS = 15;

/** Validates `text` strictly (RFC 8259 grammar, unique keys, bounded depth, exact integers) and parses it. */
export function parseStrictJson(text: string, limits: StrictJsonLimits): StrictJson {
  const scanner = new Scanner(text, limits.maxDepth);
  scanner.scanDocument();
  return { text, value: JSON.parse(text) as unknown };
}

class Scanner {
  private pos = 0;
  private depth = 0;
  private readonly text: string;
  private readonly maxDepth: number;

  constructor(text: string, maxDepth: number) {
    this.text = text;
    this.maxDepth = maxDepth;
  }

  scanDocument(): void {
    this.skipWhitespace();
    this.scanValue();
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail("unexpected data after the JSON value");
  }

  private scanValue(): void {
    const c = this.peek();
    if (c === OPEN_BRACE) this.scanObject();
    else if (c === OPEN_BRACKET) this.scanArray();
    else if (c === QUOTE) this.scanString();
    else if (c === MINUS || (c >= ZERO && c <= NINE)) this.scanNumber();
    else if (this.text.startsWith("true", this.pos)) this.pos += 4;
    else if (this.text.startsWith("false", this.pos)) this.pos += 5;
    else if (this.text.startsWith("null", this.pos)) this.pos += 4;
    else if (c === -1) this.fail("unexpected end of JSON");
    else this.fail(`unexpected character ${describeChar(c)}`);
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) this.fail(`JSON nested deeper than ${this.maxDepth} levels`);
    this.pos++;
  }

  private scanObject(): void {
    this.enter();
    this.skipWhitespace();
    if (this.peek() === CLOSE_BRACE) {
      this.pos++;
      this.depth--;
      return;
    }
    // Most objects have a handful of keys; a linear scan beats a Set until they grow.
    let keys: string[] | Set<string> = [];
    for (;;) {
      if (this.peek() !== QUOTE) this.fail("expected a string key");
      const keyStart = this.pos;
      const key = this.scanString();
      if (Array.isArray(keys)) {
        if (keys.includes(key)) this.duplicate(key, keyStart);
        keys.push(key);
        if (keys.length > 16) keys = new Set(keys);
      } else {
        if (keys.has(key)) this.duplicate(key, keyStart);
        keys.add(key);
      }
      this.skipWhitespace();
      if (this.peek() !== COLON) this.fail("expected ':' after an object key");
      this.pos++;
      this.skipWhitespace();
      this.scanValue();
      this.skipWhitespace();
      const c = this.peek();
      this.pos++;
      if (c === CLOSE_BRACE) break;
      if (c !== COMMA) this.fail("expected ',' or '}' in an object", this.pos - 1);
      this.skipWhitespace();
    }
    this.depth--;
  }

  private scanArray(): void {
    this.enter();
    this.skipWhitespace();
    if (this.peek() === CLOSE_BRACKET) {
      this.pos++;
      this.depth--;
      return;
    }
    for (;;) {
      this.scanValue();
      this.skipWhitespace();
      const c = this.peek();
      this.pos++;
      if (c === CLOSE_BRACKET) break;
      if (c !== COMMA) this.fail("expected ',' or ']' in an array", this.pos - 1);
      this.skipWhitespace();
    }
    this.depth--;
  }

  /** Scans a string at the current quote and returns its decoded value. */
  private scanString(): string {
    const text = this.text;
    const start = this.pos++;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c === QUOTE) break;
      if (Number.isNaN(c)) this.fail("unterminated string", start);
      if (c < 0x20) this.fail(`control character ${describeChar(c)} in a string`);
      if (c === BACKSLASH) {
        escaped = true;
        const e = text.charCodeAt(this.pos + 1);
        if (e === 0x75 /* u */) {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(this.pos + 2, this.pos + 6))) this.fail("invalid \\u escape");
          this.pos += 6;
          continue;
        }
        // " \ / b f n r t
        if (
          e !== QUOTE &&
          e !== BACKSLASH &&
          e !== 0x2f &&
          e !== 0x62 &&
          e !== 0x66 &&
          e !== 0x6e &&
          e !== 0x72 &&
          e !== 0x74
        ) {
          this.fail("invalid escape sequence");
        }
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    this.pos++;
    const raw = text.slice(start, this.pos);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }

  private scanNumber(): void {
    const text = this.text;
    const start = this.pos;
    if (this.peek() === MINUS) this.pos++;
    const intStart = this.pos;
    if (this.peek() === ZERO) this.pos++;
    else if (!this.digits()) this.fail("invalid number");
    const intDigits = this.pos - intStart;
    let integer = true;
    if (this.peek() === DOT) {
      integer = false;
      this.pos++;
      if (!this.digits()) this.fail("invalid number: digits expected after '.'");
    }
    const e = this.peek();
    if (e === 0x65 || e === 0x45) {
      integer = false;
      this.pos++;
      const sign = this.peek();
      if (sign === PLUS || sign === MINUS) this.pos++;
      if (!this.digits()) this.fail("invalid number: digits expected in the exponent");
    }
    this.checkExact(text.slice(start, this.pos), integer && intDigits > ALWAYS_EXACT_DIGITS, start);
  }

  /**
   * Numbers are forwarded as JavaScript serialises the double the policy compared, so that string
   * must be read as the same value everywhere: an integer literal that a double would round is
   * refused, and so is an integer-valued double beyond 2^53 that serialises as digits naming another
   * integer (2^60 is written 1152921504606847000, which Python reads exactly, as a different number).
   */
  private checkExact(literal: string, longInteger: boolean, at: number): void {
    const value = Number(literal);
    const shown = literal.length > 40 ? `${literal.slice(0, 40)}…` : literal;
    if (!Number.isFinite(value)) this.fail(`number ${shown} is out of range`, at);
    if (longInteger && BigInt(literal) !== BigInt(value))
      this.fail(`integer ${shown} cannot be represented exactly`, at);
    if (
      Number.isInteger(value) &&
      !Number.isSafeInteger(value) &&
      Math.abs(value) < 1e21 &&
      BigInt(String(value)) !== BigInt(value)
    ) {
      this.fail(`number ${shown} is beyond the integers every server reads alike (±2^53)`, at);
    }
  }

  private digits(): boolean {
    const start = this.pos;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c >= ZERO && c <= NINE) this.pos++;
      else return this.pos > start;
    }
  }

  private skipWhitespace(): void {
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else return;
    }
  }

  private peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  private duplicate(key: string, at: number): never {
    const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
    throw new JsonInputError(`duplicate object key ${JSON.stringify(shown)}`, at);
  }

  private fail(message: string, at = this.pos): never {
    throw new JsonInputError(message, at);
  }
}

function describeChar(c: number): string {
  if (c === -1) return "end of input";
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes a body as UTF-8, rejecting invalid sequences (a lenient upstream might read them differently). */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new JsonInputError("body is not valid UTF-8", 0);
  }
}
