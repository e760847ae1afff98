// What the HTTP fuzzer sends: valid MCP messages, mutated (methods and their look-alikes, ids, params,
// tool names, arguments, nesting, extra and duplicate keys), composed into single messages, batches of
// every size around the bound, or non-messages; serialised and then mutated as text (escapes that mean
// the same, duplicate keys, big numbers, truncation, garbage, stray bytes), encoded (UTF-8, UTF-16,
// Latin-1, invalid sequences), padded to huge or cut to tiny; sent with mutated headers (content
// types, accept, credentials, protocol versions, sessions, Mcp-Method/Mcp-Name, encodings, origins),
// HTTP methods and paths, with a fixed length or chunked.
import fc from "fast-check";
import { HIDDEN_TOOL, LIMITED_TOOL, TOOL_NAMES } from "./policy.ts";

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** "own" in `mcp-session-id` is replaced by the session the runner opened. */
  body: Buffer | undefined;
  chunked: boolean;
  /** JSON-RPC messages the body was built from (for the report). */
  messages: number;
}

export const ALLOWED_ORIGIN = "https://agents.example";
export const OWN_SESSION = "own";

type Json = Record<string, unknown>;

// ---- look-alikes: what a lenient reader might fold into the real name ----
const ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2060"];
const HOMOGLYPHS: Record<string, string> = { a: "а", e: "е", o: "о", p: "р", c: "с", s: "ѕ", i: "і", l: "ӏ", x: "х" };
const LOOK_ALIKES: ((s: string, at: number) => string)[] = [
  (s, at) => s.slice(0, at) + (s[at] ?? "").toUpperCase() + s.slice(at + 1),
  (s) => s.toUpperCase(),
  (s, at) => s.slice(0, at) + (ZERO_WIDTH[at % ZERO_WIDTH.length] as string) + s.slice(at),
  (s, at) => s.slice(0, at) + (HOMOGLYPHS[s[at] ?? ""] ?? s[at] ?? "") + s.slice(at + 1),
  (s) => [...s].map((ch) => (ch >= "!" && ch <= "~" ? String.fromCharCode(ch.charCodeAt(0) + 0xfee0) : ch)).join(""),
  (s, at) => `${s}${[" ", "\t", "\n", "\u00a0", "\u3000"][at % 5] as string}`,
  (s) => ` ${s}`,
  (s) => s.normalize("NFD"),
  (s) => `${s}\u0000`,
];
const lookAlike = (base: fc.Arbitrary<string>) =>
  fc
    .tuple(base, fc.nat(40), fc.nat(LOOK_ALIKES.length - 1))
    .map(([s, at, f]) => (LOOK_ALIKES[f] as (s: string, at: number) => string)(s, at % Math.max(1, s.length)));

// ---- valid messages ----
/** Any code point, lone surrogates included (fast-check's "binary" unit costs a 1.1-million-entry table per use). */
const codePoint = fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c));
const anyText = (maxLength: number) => fc.string({ unit: codePoint, maxLength });
/** Values of every JSON type, the awkward ones included (cheap to generate: the fuzzer sends many). */
const anyValue = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    1e308,
    -0,
    "",
    "0",
    "null",
    "tools/call",
    [],
    {},
    [1, "a"],
    { a: {} },
    { name: "delete_flow" },
    ["tools/call"],
  ),
  fc.string({ maxLength: 6 }),
  fc.integer(),
);
const smallJson = fc.oneof({ weight: 4, arbitrary: anyValue }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
const id = fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.string({ maxLength: 8 }));
const toolName = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(...TOOL_NAMES) },
  { weight: 3, arbitrary: lookAlike(fc.constantFrom(...TOOL_NAMES)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: anyText(12) },
);
const namespace = fc.oneof(
  fc.constantFrom("dev.team", "dev.", "prod.team", "", "DEV.team", "dev\u200b.team"),
  fc.string({ maxLength: 12 }),
);
const action = fc.oneof(
  fc.constantFrom("get", "set", "list", "delete", "Delete", "delete ", "de\u200blete"),
  fc.string({ maxLength: 6 }),
);
const args = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      { namespace, action, key: fc.string({ maxLength: 6 }), value: anyValue },
      { requiredKeys: [] },
    ),
  },
  { weight: 2, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), smallJson, { maxKeys: 4 }) },
  { weight: 2, arbitrary: fc.constant({}) },
);
const toolsCall = fc
  .record({
    id,
    name: toolName,
    args,
    meta: fc.option(
      fc.constantFrom({ _meta: { progressToken: "p1" } }, { task: { ttl: 1000 } }, { inputResponses: {} }),
      { nil: undefined },
    ),
  })
  .map(({ id, name, args, meta }): Json => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: args, ...meta },
  }));
const request = (method: string, params?: fc.Arbitrary<unknown>) =>
  fc
    .record({ id, params: params ?? fc.constant(undefined) })
    .map(({ id, params }): Json => ({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) }));
const baseMessage: fc.Arbitrary<Json> = fc.oneof(
  { weight: 12, arbitrary: toolsCall },
  {
    weight: 2,
    arbitrary: request("tools/list", fc.option(fc.record({ cursor: fc.string({ maxLength: 4 }) }), { nil: undefined })),
  },
  {
    weight: 1,
    arbitrary: request(
      "initialize",
      fc.record({
        protocolVersion: fc.constantFrom("2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28", "1999-01-01"),
        capabilities: fc.constant({}),
        clientInfo: fc.constant({ name: "fuzz", version: "1" }),
      }),
    ),
  },
  { weight: 1, arbitrary: request("ping") },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Json>(
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1, reason: "x" } },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({ id, result: anyValue }).map(({ id, result }): Json => ({ jsonrpc: "2.0", id, result })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("resources/read", "prompts/get", "completion/complete", "tasks/get", "logging/setLevel")
      .chain((m) => request(m, anyValue)),
  },
);

// ---- mutations of a message ----
function nested(depth: number, leaf: unknown, array: boolean): unknown {
  let value = leaf;
  for (let d = 0; d < depth; d++) value = array ? [value] : { a: value };
  return value;
}
const policedMethod = fc.constantFrom("tools/call", "tools/list");
type Mutation = (m: Json) => Json;
const params = (m: Json): Json =>
  typeof m.params === "object" && m.params !== null && !Array.isArray(m.params) ? (m.params as Json) : {};
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .oneof(lookAlike(policedMethod), fc.string({ maxLength: 12 }), anyValue, policedMethod)
    .map((method) => (m: Json) => ({ ...m, method })),
  fc.constantFrom("jsonrpc", "id", "method", "params").map((field) => (m: Json) => {
    const { [field]: _gone, ...rest } = m;
    return rest;
  }),
  fc
    .oneof(anyValue, fc.constantFrom(-1, 1.5, 2 ** 53, -0, 1e300), anyText(8))
    .map((value) => (m: Json) => ({ ...m, id: value })),
  fc.oneof(fc.constantFrom("1.0", 2, "2.0 ", null)).map((jsonrpc) => (m: Json) => ({ ...m, jsonrpc })),
  anyValue.map((value) => (m: Json) => ({ ...m, params: value })),
  fc
    .oneof(
      anyValue,
      fc.constant("x".repeat(10_000)),
      fc.constant(""),
      lookAlike(fc.constantFrom(HIDDEN_TOOL, LIMITED_TOOL)),
    )
    .map((name) => (m: Json) => ({ ...m, params: { ...params(m), name } })),
  fc
    .oneof(
      anyValue,
      fc
        .integer({ min: 50, max: 80 })
        .chain((depth) => fc.boolean().map((array) => ({ deep: nested(depth, 1, array) }))),
    )
    .map((value) => (m: Json) => ({ ...m, params: { ...params(m), arguments: value } })),
  fc
    .record({
      key: fc.oneof(
        fc.constantFrom("__proto__", "constructor", "method ", "Method", "ID", "params\u200b"),
        fc.string({ maxLength: 6 }),
      ),
      value: anyValue,
    })
    .map(({ key, value }) => (m: Json) => {
      const copy = { ...m };
      Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
      return copy;
    }),
  fc.integer({ min: 55, max: 75 }).map((depth) => (m: Json) => nested(depth, m, true) as Json),
);
// Half the messages stay valid, so that batches mix valid and broken ones and the policy decides often.
const message = fc
  .tuple(baseMessage, fc.array(mutation, { minLength: 1, maxLength: 2 }), fc.boolean())
  .map(([m, ms, keep]) => (keep ? m : ms.reduce((acc, f) => f(acc), m)));

// ---- payloads: messages, batches, non-messages ----
type Payload = { value: unknown; messages: number };
const payload: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 12, arbitrary: message.map((m) => ({ value: m, messages: 1 })) },
  {
    weight: 4,
    arbitrary: fc.array(message, { minLength: 1, maxLength: 6 }).map((ms) => ({ value: ms, messages: ms.length })),
  },
  {
    weight: 1,
    // Batches around the bound (100): copies of one message with ids of their own, or one id repeated.
    arbitrary: fc.tuple(message, fc.integer({ min: 95, max: 105 }), fc.boolean()).map(([m, n, sameId]) => ({
      value: Array.from({ length: n }, (_, i) => ({ ...m, id: sameId ? 1 : i })),
      messages: n,
    })),
  },
  { weight: 1, arbitrary: fc.constant({ value: [], messages: 0 }) },
  {
    weight: 1,
    arbitrary: fc.array(message, { minLength: 1, maxLength: 2 }).map((ms) => ({ value: [ms], messages: ms.length })),
  },
  { weight: 1, arbitrary: smallJson.map((value) => ({ value, messages: 0 })) },
);

// ---- text mutations ----
const KEYS = ["method", "name", "id", "arguments", "params", "jsonrpc"];
type TextMutation = (s: string) => string;
const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  { weight: 8, arbitrary: fc.constant((s: string) => s) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        key: fc.constantFrom(...KEYS),
        value: fc.oneof(fc.constantFrom("tools/call", "tools/list", "delete_flow", HIDDEN_TOOL), anyValue),
      })
      .map(({ key, value }) => (s: string) => {
        const at = s.indexOf(`"${key}":`);
        return at === -1 ? s : `${s.slice(0, at)}"${key}":${JSON.stringify(value)},${s.slice(at)}`;
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<TextMutation>(
      (s) => s.replace('"name":', '"\\u006eame":'),
      (s) => s.replace('"method":', '"\\u006dethod":'),
      (s) => s.replace('"tools/call"', '"\\u0074ools/call"'),
      (s) => s.replace('"tools/call"', '"tools\\/call"'),
      (s) => s.replace('"tools/list"', '"\\u0074ools\\u002flist"'),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<TextMutation>(
      (s) => s.replace(/"id":\d+/, '"id":9007199254740993'),
      (s) => s.replace(/"id":\d+/, '"id":1e400'),
      (s) => s.replace(/"id":\d+/, '"id":-0'),
      (s) => s.replace(/"id":\d+/, '"id":1.0'),
      (s) => s.replace(/"id":\d+/, '"id":0x10'),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<TextMutation>(
      (s) => s.replace(/"([a-z])/, '"\\ud800$1'),
      (s) => s.replace(/"([a-z])/, '"\\udc00\\ud800$1'),
      (s) => s.replace(/"([a-z])/, '"\\u0000$1'),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        at: fc.nat(),
        text: fc.oneof(
          fc.constantFrom(" ", "\t", "\n", "\r\n", "\u00a0", "\u2028", ",", "]", "}", '"', "\\", "{", "["),
          anyText(4),
        ),
      })
      .map(
        ({ at, text }) =>
          (s: string) =>
            s.slice(0, at % (s.length + 1)) + text + s.slice(at % (s.length + 1)),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.record({ at: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }).map(
      ({ at, length }) =>
        (s: string) =>
          s.slice(0, at % (s.length + 1)) + s.slice((at % (s.length + 1)) + length),
    ),
  },
  { weight: 1, arbitrary: fc.nat().map((at) => (s: string) => s.slice(0, at % (s.length + 1))) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((garbage) => (s: string) => s + garbage) },
  { weight: 1, arbitrary: fc.constant((s: string) => `\ufeff${s}`) },
);

// ---- encodings and sizes ----
type Encoder = (s: string) => Buffer;
const encoder: fc.Arbitrary<Encoder> = fc.oneof(
  { weight: 20, arbitrary: fc.constant((s: string) => Buffer.from(s, "utf8")) },
  { weight: 1, arbitrary: fc.constant((s: string) => Buffer.from(s, "utf16le")) },
  { weight: 1, arbitrary: fc.constant((s: string) => Buffer.from(s, "utf16le").swap16()) },
  { weight: 1, arbitrary: fc.constant((s: string) => Buffer.from(s, "latin1")) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        at: fc.nat(),
        bytes: fc.constantFrom(
          [0xc0, 0xaf],
          [0xe0, 0x80, 0xaf],
          [0xed, 0xa0, 0x80],
          [0xff],
          [0x80],
          [0xf4, 0x90, 0x80, 0x80],
          [0xc3],
        ),
      })
      .map(({ at, bytes }) => (s: string) => {
        const b = Buffer.from(s, "utf8");
        const p = at % (b.length + 1);
        return Buffer.concat([b.subarray(0, p), Buffer.from(bytes), b.subarray(p)]);
      }),
  },
);
// The fuzzing sidecar takes bodies up to 64 KiB: padded bodies land on both sides of that bound.
const size = fc.oneof(
  { weight: 60, arbitrary: fc.constant((b: Buffer) => b) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(60_000, 65_535, 65_536, 65_537, 70_000, 70_000, 70_000, 70_000, 1_100_000)
      .map((n) => (b: Buffer) => Buffer.concat([Buffer.alloc(Math.max(0, n - b.length), 0x20), b])),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("", "{", "[", "0", " ", "\u0000", "[{").map((tiny) => () => Buffer.from(tiny, "utf8")),
  },
);

// ---- headers, methods, paths ----
const printable = fc.string({ maxLength: 24 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x").trim());
const pick = <T>(...values: [number, T][]) =>
  fc.oneof(...values.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));
// Weighted so that most requests pass the door (credentials, content type, session) and reach the
// message handling, where the policy decides; every kind of refusal at the door still comes up.
const orGarbage = <T>(common: fc.Arbitrary<T>, weight: number) =>
  fc.oneof({ weight, arbitrary: common }, { weight: 1, arbitrary: printable });
const contentType = orGarbage(
  pick<string | undefined>(
    [100, "application/json"],
    [10, "application/json; charset=utf-8"],
    [1, undefined],
    [1, "text/plain"],
    [1, "application/json; charset=utf-16"],
    [2, "APPLICATION/JSON"],
    [2, 'application/json;charset="UTF-8"'],
    [1, "application/jsonx"],
    [1, "multipart/form-data; boundary=x"],
    [1, "application/x-www-form-urlencoded"],
    [1, "application/json; charset=iso-8859-1"],
  ),
  40,
);
const accept = orGarbage(
  pick<string | undefined>(
    [20, "application/json, text/event-stream"],
    [2, "application/json"],
    [2, "text/event-stream"],
    [1, "*/*"],
    [1, undefined],
  ),
  40,
);
const authorization = pick<string | undefined>(
  [150, "valid"],
  [1, undefined],
  [1, "Bearer wrong-key"],
  [1, "Basic YWxpY2U6eA=="],
  [1, "Bearer "],
  [1, "bearer valid"],
  [1, "Bearer valid extra"],
  [1, `Bearer ${"k".repeat(5000)}`],
);
const protocolVersion = orGarbage(
  pick<string | undefined>([6, undefined], [3, "2025-03-26"], [3, "2025-06-18"], [3, "2025-11-25"], [2, "2026-07-28"]),
  40,
);
const session = orGarbage(
  pick<string | undefined>([30, undefined], [20, OWN_SESSION], [1, "spy-session-999999999"], [1, ""]),
  50,
);
const headerPair = pick<"none" | "match" | "mismatch" | "base64">(
  [30, "none"],
  [3, "match"],
  [2, "mismatch"],
  [1, "base64"],
);
const contentEncoding = pick<string | undefined>(
  [100, undefined],
  [1, "gzip"],
  [1, "deflate"],
  [1, "br"],
  [1, "identity"],
);
const origin = pick<string | undefined>(
  [100, undefined],
  [4, ALLOWED_ORIGIN],
  [1, "https://evil.example"],
  [1, "null"],
);
const httpMethod = pick<string>(
  [150, "POST"],
  [1, "GET"],
  [1, "DELETE"],
  [1, "PUT"],
  [1, "PATCH"],
  [1, "OPTIONS"],
  [1, "HEAD"],
);
const path = pick<string>(
  [150, "/mcp"],
  [2, "/mcp?x=1"],
  [1, "/mcp/"],
  [1, "/MCP"],
  [1, "/other"],
  [1, "/%6dcp"],
  [1, "//mcp"],
  [1, "/mcp/../mcp"],
);
const extraHeader = fc.option(fc.record({ name: fc.stringMatching(/^x-[a-z0-9-]{1,12}$/), value: printable }), {
  nil: undefined,
  freq: 4,
});

const b64 = (s: string) => `=?base64?${Buffer.from(s, "utf8").toString("base64")}?=`;

export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    payload,
    textMutations: fc.array(textMutation, { maxLength: 1 }),
    encode: encoder,
    resize: size,
    method: httpMethod,
    path,
    contentType,
    accept,
    authorization,
    protocolVersion,
    session,
    headerPair,
    contentEncoding,
    origin,
    extraHeader,
    chunked: fc.boolean(),
  })
  .map((c): FuzzRequest => {
    const text = c.textMutations.reduce((s, f) => f(s), JSON.stringify(c.payload.value) ?? "null");
    const headers: Record<string, string> = {};
    const set = (name: string, value: string | undefined) => {
      if (value !== undefined) headers[name] = value;
    };
    set("content-type", c.contentType);
    set("accept", c.accept);
    set("authorization", c.authorization);
    set("mcp-protocol-version", c.protocolVersion);
    set("mcp-session-id", c.session);
    set("content-encoding", c.contentEncoding);
    set("origin", c.origin);
    if (c.extraHeader) set(c.extraHeader.name, c.extraHeader.value);
    const single = c.payload.value as Json | null;
    const method = typeof single?.method === "string" ? single.method : "tools/call";
    const name =
      typeof (single?.params as Json | undefined)?.name === "string"
        ? ((single?.params as Json).name as string)
        : "list_namespaces";
    if (c.headerPair !== "none") {
      const other = c.headerPair === "mismatch" ? (method === "tools/call" ? "tools/list" : "tools/call") : method;
      set("mcp-method", other.replace(/[^\x20-\x7e]/g, "?"));
      const shownName = c.headerPair === "mismatch" ? "list_namespaces" : name;
      set("mcp-name", c.headerPair === "base64" || /[^\x20-\x7e]/.test(shownName) ? b64(shownName) : shownName);
    }
    const body =
      c.method === "POST" || c.method === "PUT" || c.method === "PATCH" ? c.resize(c.encode(text)) : undefined;
    return { method: c.method, path: c.path, headers, body, chunked: c.chunked, messages: c.payload.messages };
  });
