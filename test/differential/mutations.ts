// What the differential property test sends: a tool call (or a tools/list) of the suite's tool set,
// mutated where two readers may part ways: body encodings (UTF-7 under a quoted charset, UTF-16, a
// BOM, gzip), request ids and their types (numbers, numeric strings, ids shared within a batch,
// floats, integers beyond 2^53), headers (Content-Type parameters, Connection-named headers,
// credentials), request targets (percent-encoded, absolute-form, case, slashes), batches, duplicate
// keys spelled in the text, and Unicode look-alikes of tool names and methods.
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { smuggle, UTF7_CONTENT_TYPE } from "./encodings.ts";
import type { Caller } from "./policy.ts";
import type { HeaderList, Json, RawRequest } from "./raw-http.ts";
import { PROTOCOL } from "./stack.ts";
import { HUGE_COUNT, TOOLS } from "./stacks/catalogue.ts";

/** A mutated request, as data (printable as a counterexample), turned into bytes by `toRequest`. */
export interface Mutation {
  call: readonly [string, Json];
  name: string;
  method: string;
  id: IdForm;
  batch: "single" | "with-list" | "with-ping" | "twice";
  duplicate: "none" | "name-before" | "name-after" | "arguments-after";
  encoding: "utf-8" | "utf-7-smuggle" | "utf-16le" | "bom" | "gzip";
  contentType: string;
  target: string;
  auth: "key" | "none" | "wrong" | "lowercase-scheme" | "two-headers";
  extraHeaders: readonly (readonly [string, string])[];
}

type IdForm = { kind: "number"; value: number } | { kind: "string"; value: string } | { kind: "literal"; text: string };

const ZERO_WIDTH = ["\u200b", "\u200d", "\ufeff", "\u00ad"];
const HOMOGLYPHS: Record<string, string> = { a: "а", e: "е", o: "о", c: "с", x: "х", i: "і" };
const LOOK_ALIKES: readonly ((s: string, at: number) => string)[] = [
  (s) => s.toUpperCase(),
  (s, at) => s.slice(0, at) + (ZERO_WIDTH[at % ZERO_WIDTH.length] as string) + s.slice(at),
  (s, at) => s.slice(0, at) + (HOMOGLYPHS[s[at] ?? ""] ?? s[at] ?? "") + s.slice(at + 1),
  (s) => [...s].map((ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)).join(""),
  (s) => `${s} `,
  (s) => `${s}\u0000`,
  (s) => s.normalize("NFKD"),
];
const lookAlike = (s: string) =>
  fc
    .tuple(fc.nat(40), fc.nat(LOOK_ALIKES.length - 1))
    .map(([at, f]) => (LOOK_ALIKES[f] as (s: string, at: number) => string)(s, at % s.length));

const CALLS: readonly (readonly [string, Json])[] = [
  [TOOLS.list, { namespace: "dev" }],
  [TOOLS.limited, { execution_id: "e1" }],
  [TOOLS.limited, { execution_id: "" }],
  [TOOLS.denied, { execution_id: "e1" }],
  [TOOLS.hidden, { execution_id: "e1" }],
  [TOOLS.flagged, { namespace: "dev", auto_create: false }],
  [TOOLS.flagged, { namespace: "dev", auto_create: true }],
  [TOOLS.flagged, { namespace: "dev", auto_create: "true" }],
  [TOOLS.flagged, { namespace: "dev", auto_create: 1 }],
  [TOOLS.targets, { execution_ids: ["e1"] }],
  [TOOLS.targets, { execution_ids: [] }],
  [TOOLS.counted, { count: 5 }],
  // Serialised as 1152921504606847000: the integer the denyIf names, which a double rounds to 2^60.
  [TOOLS.counted, { count: Number(HUGE_COUNT) }],
  ["tools/list", {}],
];

const FORBIDDEN_NAMES = [TOOLS.hidden, TOOLS.denied];

type Field = Exclude<keyof Mutation, "call">;
const FIELDS: readonly Field[] = [
  "name",
  "method",
  "id",
  "batch",
  "duplicate",
  "encoding",
  "contentType",
  "target",
  "auth",
  "extraHeaders",
];

/** Each case changes one or two things of a well-formed call, so most cases get past the front door. */
export function mutationArbitrary(): fc.Arbitrary<Mutation> {
  const call = fc.constantFrom(...CALLS);
  return call.chain((c) => {
    const neutral: Omit<Mutation, "call"> = {
      name: c[0],
      method: c[0] === "tools/list" ? "tools/list" : "tools/call",
      id: { kind: "number", value: 1 },
      batch: "single",
      duplicate: "none",
      encoding: "utf-8",
      contentType: "application/json",
      target: "/mcp",
      auth: "key",
      extraHeaders: [],
    };
    const mutated = fc.record({
      name: fc.oneof(fc.constantFrom(...FORBIDDEN_NAMES).chain(lookAlike), lookAlike(c[0])),
      method: lookAlike("tools/call"),
      id: fc.oneof(
        fc.integer({ min: 1, max: 5000 }).map((value): IdForm => ({ kind: "number", value })),
        fc.integer({ min: 1, max: 5000 }).map((value): IdForm => ({ kind: "string", value: String(value) })),
        fc.constantFrom<IdForm>(
          { kind: "literal", text: "1.0" },
          { kind: "literal", text: "9007199254740993" },
          { kind: "literal", text: "-0" },
          { kind: "literal", text: "1e3" },
          { kind: "string", value: "1\u0000" },
        ),
      ),
      batch: fc.constantFrom<Mutation["batch"]>("with-list", "with-ping", "twice"),
      duplicate: fc.constantFrom<Mutation["duplicate"]>("name-before", "name-after", "arguments-after"),
      encoding: fc.constantFrom<Mutation["encoding"]>("utf-7-smuggle", "utf-16le", "bom", "gzip"),
      contentType: fc.constantFrom(
        UTF7_CONTENT_TYPE,
        "application/json; charset=utf-7",
        "application/json; charset=utf-16le",
        'application/json; charset="utf-8"; charset=utf-7',
        "application/json, text/plain",
        "text/plain",
        "APPLICATION/JSON; Charset=UTF-7",
      ),
      target: fc.constantFrom("/%6Dcp", "/MCP", "/mcp/", "//mcp", "/./mcp", "/mcp?x=1", "http://x/mcp", "/mcp%00"),
      auth: fc.constantFrom<Mutation["auth"]>("none", "wrong", "lowercase-scheme", "two-headers"),
      extraHeaders: fc.subarray(
        [
          ["Connection", "keep-alive, mcp-session-id"] as const,
          ["Forwarded", "for=203.0.113.66"] as const,
          ["X-Real-IP", "203.0.113.77"] as const,
          ["Content-Encoding", "identity"] as const,
          ["Mcp-Method", "tools/list"] as const,
          ["Mcp-Name", TOOLS.list] as const,
        ],
        { minLength: 1 },
      ),
    });
    return fc.tuple(mutated, fc.subarray([...FIELDS], { minLength: 0, maxLength: 2 })).map(([m, chosen]): Mutation => {
      const out: Mutation = { call: c, ...neutral };
      for (const field of chosen) (out as unknown as Record<string, unknown>)[field] = m[field];
      // A smuggled body means nothing unless a reader honours UTF-7: pair it with the quoted charset.
      if (out.encoding === "utf-7-smuggle" && !chosen.includes("contentType")) out.contentType = UTF7_CONTENT_TYPE;
      if (out.encoding === "utf-16le" && !chosen.includes("contentType"))
        out.contentType = "application/json; charset=utf-16le";
      return out;
    });
  });
}

function idText(id: IdForm): string {
  return id.kind === "number" ? String(id.value) : id.kind === "string" ? JSON.stringify(id.value) : id.text;
}

/** The JSON text of the mutated message(s), before the body encoding. */
function bodyText(m: Mutation): string {
  const [tool, args] = m.call;
  const message: Json =
    m.method === "tools/list"
      ? { jsonrpc: "2.0", id: 0, method: "tools/list" }
      : { jsonrpc: "2.0", id: 0, method: m.method, params: { name: m.name, arguments: args } };
  let text: string;
  if (m.encoding === "utf-7-smuggle" && m.method !== "tools/list") {
    text = smuggle(
      { ...message, params: { name: TOOLS.list, arguments: { namespace: "dev" } } },
      ["params"],
      `"name":${JSON.stringify(m.name)},"arguments":${JSON.stringify(args)}`,
    );
  } else {
    text = JSON.stringify(message);
  }
  text = text.replace('"id":0', `"id":${idText(m.id)}`);
  const forbidden = JSON.stringify(TOOLS.hidden);
  if (m.duplicate === "name-before") text = text.replace('"name":', `"name":${forbidden},"name":`);
  if (m.duplicate === "name-after") text = text.replace(/("name":"[^"]*")/, `$1,"name":${forbidden}`);
  if (m.duplicate === "arguments-after" && tool === TOOLS.flagged)
    text = text.replace('"auto_create":false', '"auto_create":false,"auto_create":true');
  if (m.batch === "single") return text;
  const other =
    m.batch === "with-list"
      ? `{"jsonrpc":"2.0","id":${idText(m.id)},"method":"tools/list"}`
      : m.batch === "with-ping"
        ? `{"jsonrpc":"2.0","id":${idText(m.id)},"method":"ping"}`
        : text;
  return `[${text},${other}]`;
}

function encode(m: Mutation, text: string): Buffer {
  switch (m.encoding) {
    case "utf-16le":
      return Buffer.from(text, "utf16le");
    case "bom":
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    case "gzip":
      return gzipSync(text);
    default:
      return Buffer.from(text);
  }
}

export function toRequest(m: Mutation, caller: Caller, session: string): RawRequest {
  const headers: [string, string][] = [
    ["Content-Type", m.contentType],
    ["Accept", "application/json, text/event-stream"],
    ["Mcp-Session-Id", session],
    ["Mcp-Protocol-Version", PROTOCOL],
  ];
  if (m.auth === "key") headers.push(["Authorization", `Bearer ${caller.key}`]);
  if (m.auth === "wrong") headers.push(["Authorization", "Bearer wrong-key-000000"]);
  if (m.auth === "lowercase-scheme") headers.push(["Authorization", `bearer ${caller.key}`]);
  if (m.auth === "two-headers")
    headers.push(["Authorization", "Bearer wrong-key-000000"], ["Authorization", `Bearer ${caller.key}`]);
  if (m.encoding === "gzip") headers.push(["Content-Encoding", "gzip"]);
  const extra: HeaderList = m.extraHeaders;
  return {
    method: "POST",
    target: m.target,
    headers: [...headers, ...extra],
    body: encode(m, bodyText(m)),
    readMs: 1500,
  };
}
