// Where the members of a JSON object are, without building it. The answer fast path (ADR 0118) needs
// only the names of an answer's top-level members, those of its `result`, and the text spans of a few
// small values; parsing and serialising the whole answer to learn them costs hundreds of microseconds
// for a large tool result. This scanner reads the text once, validating it as it goes: it accepts a
// subset of what JSON.parse accepts (whitespace between tokens must be plain spaces, nesting at most
// MAX_DEPTH deep) and refuses everything else, so whatever it accepts is valid JSON.

/** One member of an object: its decoded name and the span [start, end) of its value in the text. */
export interface Member {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  /** The members of the value, when it is an object and was asked for (`nested`). */
  readonly members?: readonly Member[];
}

/** Deepest nesting read; deeper text is left to the full parse (which reads it or refuses it). */
export const MAX_DEPTH = 512;

const QUOTE = 0x22;
const SPACE = 0x20;
const COLON = 0x3a;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

// The tokens of RFC 8259, with plain spaces as the only whitespace.
const STRING = String.raw`"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"`;
const NUMBER = String.raw`-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?`;
/** Strings of runs: short, without escapes, so that a run that stops short gives back little. */
const SHORT_STRING = String.raw`"[^"\\\x00-\x1f]{0,80}"`;
const SCALAR = `(?:${SHORT_STRING}|${NUMBER}|true|false|null)`;
/**
 * A string's contents and closing quote: runs of ordinary characters between valid escapes, written
 * unrolled (each repetition starts at a backslash) so that a string that does not end is given up in
 * linear time.
 */
const STRING_BODY = new RegExp(STRING.slice(1), "y");
/**
 * Runs of scalar elements and members, each with the comma and (in an object) the next name after it:
 * one native match instead of a few steps per token. A run stops before a container, a last value or
 * a long or escaped string (which the scanner then reads itself); each repetition starts at a value and
 * holds only short tokens, so a run that stops short gives back little.
 */
const ARRAY_RUN = new RegExp(`(?:${SCALAR} *, *)*`, "y");
const OBJECT_RUN = new RegExp(`(?:${SCALAR} *, *${SHORT_STRING} *: *)*`, "y");

/** Thrown inside the scanner only; the caller sees undefined. */
const NOT_READ = new Error("not read");

/**
 * The members of the object that is the whole of `text`, or undefined when the text is not one object
 * this scanner reads (including any text that is not valid JSON). Members of the top-level member
 * named `nested` are read too when its value is an object; one of them named in `stopAt` ends the
 * reading at once (undefined), the caller having no use for the rest.
 */
export function topLevelMembers(
  text: string,
  nested: string,
  stopAt: readonly string[] = [],
): readonly Member[] | undefined {
  try {
    const scanner = new Scanner(text, stopAt);
    scanner.spaces();
    if (text.charCodeAt(scanner.pos) !== OPEN_BRACE) return undefined;
    const members = scanner.object(nested);
    scanner.spaces();
    return scanner.pos === text.length ? members : undefined;
  } catch {
    return undefined; // NOT_READ, or a pattern's backtracking stack overflowing on a huge text
  }
}

class Scanner {
  pos = 0;
  private readonly text: string;
  private readonly stopAt: readonly string[];

  constructor(text: string, stopAt: readonly string[]) {
    this.text = text;
    this.stopAt = stopAt;
  }

  /** An object at `pos`, its members' values skipped (validated), except `nested`'s, read one level. */
  object(nested: string | undefined): Member[] {
    const members: Member[] = [];
    this.pos++;
    this.spaces();
    if (this.text.charCodeAt(this.pos) === CLOSE_BRACE) {
      this.pos++;
      return members;
    }
    for (;;) {
      const key = this.key();
      const start = this.pos;
      let inner: Member[] | undefined;
      if (nested === undefined && this.stopAt.includes(key)) throw NOT_READ;
      if (key === nested && this.text.charCodeAt(start) === OPEN_BRACE) inner = this.object(undefined);
      else this.value(1 + (nested === undefined ? 1 : 0));
      members.push(inner ? { key, start, end: this.pos, members: inner } : { key, start, end: this.pos });
      this.spaces();
      const c = this.text.charCodeAt(this.pos++);
      if (c === CLOSE_BRACE) return members;
      if (c !== COMMA) throw NOT_READ;
      this.spaces();
    }
  }

  /** A member name and its colon; the name decoded (escapes included), spaces after the colon skipped. */
  private key(): string {
    if (this.text.charCodeAt(this.pos) !== QUOTE) throw NOT_READ;
    const start = this.pos;
    this.string();
    const raw = this.text.slice(start, this.pos);
    this.spaces();
    if (this.text.charCodeAt(this.pos++) !== COLON) throw NOT_READ;
    this.spaces();
    return raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }

  /** Skips a member name of a nested object (not decoded) and its colon. */
  private colon(): void {
    if (this.text.charCodeAt(this.pos) !== QUOTE) throw NOT_READ;
    this.string();
    this.spaces();
    if (this.text.charCodeAt(this.pos++) !== COLON) throw NOT_READ;
    this.spaces();
  }

  /**
   * Skips one value (any nesting) at `pos`, validating it. Containers are tracked on an explicit
   * stack of their closing characters, so depth costs no call stack.
   */
  private value(depth: number): void {
    const text = this.text;
    const closers: number[] = [];
    for (;;) {
      if (closers.length > 0) this.run(closers[closers.length - 1] === CLOSE_BRACE ? OBJECT_RUN : ARRAY_RUN);
      const c = text.charCodeAt(this.pos);
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (depth + closers.length >= MAX_DEPTH) throw NOT_READ;
        const close = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
        this.pos++;
        this.spaces();
        if (text.charCodeAt(this.pos) === close) {
          this.pos++;
        } else {
          closers.push(close);
          if (close === CLOSE_BRACE) this.colon();
          continue;
        }
      } else if (c === QUOTE) this.string();
      else if (c === MINUS || (c >= ZERO && c <= NINE)) this.number();
      else this.literal();
      // A value ended: close containers until one continues with a comma.
      for (;;) {
        if (closers.length === 0) return;
        this.spaces();
        const next = text.charCodeAt(this.pos++);
        if (next === COMMA) {
          this.spaces();
          if (closers[closers.length - 1] === CLOSE_BRACE) this.colon();
          break;
        }
        if (next !== closers.pop()) throw NOT_READ;
      }
    }
  }

  private run(pattern: RegExp): void {
    pattern.lastIndex = this.pos;
    pattern.test(this.text);
    this.pos = pattern.lastIndex;
  }

  /** Skips a string at its opening quote, validating it. */
  string(): void {
    STRING_BODY.lastIndex = this.pos + 1;
    if (!STRING_BODY.test(this.text)) throw NOT_READ;
    this.pos = STRING_BODY.lastIndex;
  }

  private number(): void {
    const text = this.text;
    let pos = this.pos;
    if (text.charCodeAt(pos) === MINUS) pos++;
    if (text.charCodeAt(pos) === ZERO) pos++;
    else pos = digits(text, pos, true);
    if (text.charCodeAt(pos) === DOT) pos = digits(text, pos + 1, true);
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      const sign = text.charCodeAt(pos + 1);
      pos = digits(text, sign === 0x2b || sign === MINUS ? pos + 2 : pos + 1, true);
    }
    this.pos = pos;
  }

  private literal(): void {
    const text = this.text;
    if (text.startsWith("true", this.pos) || text.startsWith("null", this.pos)) this.pos += 4;
    else if (text.startsWith("false", this.pos)) this.pos += 5;
    else throw NOT_READ;
  }

  /** Only plain spaces: tabs and line breaks are left to the full parse (an SSE data line has none). */
  spaces(): void {
    while (this.text.charCodeAt(this.pos) === SPACE) this.pos++;
  }
}

/** The position after a run of digits at `pos`; at least one is required. */
function digits(text: string, pos: number, required: boolean): number {
  const start = pos;
  for (;;) {
    const c = text.charCodeAt(pos);
    if (c >= ZERO && c <= NINE) pos++;
    else break;
  }
  if (required && pos === start) throw NOT_READ;
  return pos;
}
