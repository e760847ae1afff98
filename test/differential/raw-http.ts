// HTTP/1.1 written by hand over a TCP socket, so an attack can send exactly the bytes it means
// (absolute-form targets, percent-encoded paths, duplicate or odd headers, any body encoding) and read
// exactly what came back, below what any HTTP client library would normalise.
import { connect } from "node:net";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";

export type HeaderList = readonly (readonly [string, string])[];

export interface RawRequest {
  method: string;
  /** The request target as sent: "/mcp", "/%6Dcp", "http://x/mcp". */
  target: string;
  headers: HeaderList;
  body?: Buffer | string;
  /** Stop reading after this long (for streams that stay open, e.g. GET); default 8 s. */
  readMs?: number;
}

export interface RawResponse {
  /** 0 when the connection closed without a status line. */
  status: number;
  headers: Record<string, string[]>;
  /** The body after de-chunking and content decoding. */
  body: Buffer;
  text: string;
}

export function header(res: RawResponse, name: string): string | undefined {
  return res.headers[name.toLowerCase()]?.[0];
}

export async function rawRequest(base: string, req: RawRequest): Promise<RawResponse> {
  const url = new URL(base);
  const body =
    req.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, "utf8");
  const names = new Set(req.headers.map(([n]) => n.toLowerCase()));
  const headers: [string, string][] = [...req.headers.map(([n, v]) => [n, v] as [string, string])];
  if (!names.has("host")) headers.unshift(["Host", url.host]);
  if (!names.has("connection")) headers.push(["Connection", "close"]);
  if (!names.has("content-length") && !names.has("transfer-encoding") && (body.length > 0 || req.method === "POST"))
    headers.push(["Content-Length", String(body.length)]);
  const head = `${req.method} ${req.target} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
  const received = await exchange(url, Buffer.concat([Buffer.from(head, "latin1"), body]), req.readMs ?? 8_000);
  return parseResponse(received);
}

function exchange(url: URL, bytes: Buffer, readMs: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(done, readMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("end", done).on("error", done).on("close", done);
    socket.write(bytes);
  });
}

function parseResponse(raw: Buffer): RawResponse {
  const split = raw.indexOf("\r\n\r\n");
  if (split === -1) return { status: 0, headers: {}, body: raw, text: raw.toString("utf8") };
  const [statusLine, ...lines] = raw.subarray(0, split).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1] ?? 0);
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    (headers[line.slice(0, colon).trim().toLowerCase()] ??= []).push(line.slice(colon + 1).trim());
  }
  let body = raw.subarray(split + 4);
  if (/chunked/i.test(headers["transfer-encoding"]?.[0] ?? "")) body = dechunk(body);
  body = decode(body, headers["content-encoding"]?.[0]);
  // A client honours the charset it is given: read the text as it would.
  const utf16 = /charset\s*=\s*"?utf-?16(le)?"?/i.test(headers["content-type"]?.[0] ?? "");
  return { status, headers, body, text: body.toString(utf16 ? "utf16le" : "utf8") };
}

/** Reads chunked framing as far as it goes (a stream cut off by `readMs` ends mid-chunk). */
function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const eol = data.indexOf("\r\n", at);
    if (eol === -1) break;
    const size = parseInt(data.subarray(at, eol).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(eol + 2, Math.min(eol + 2 + size, data.length)));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function decode(body: Buffer, encoding: string | undefined): Buffer {
  try {
    if (encoding === "gzip") return gunzipSync(body);
    if (encoding === "deflate") return inflateSync(body);
    if (encoding === "br") return brotliDecompressSync(body);
  } catch {
    // A cut-off or corrupt body is judged as the bytes it is.
  }
  return body;
}

export type Json = Record<string, unknown>;

/** The JSON-RPC messages in a body, JSON or SSE; what does not parse is skipped (the raw text stays in `text`). */
export function messagesIn(res: RawResponse): Json[] {
  const parse = (text: string): Json[] => {
    try {
      return [JSON.parse(text) as Json | Json[]].flat().filter((m) => typeof m === "object" && m !== null);
    } catch {
      return [];
    }
  };
  if ((header(res, "content-type") ?? "").startsWith("text/event-stream")) {
    return res.text
      .split(/\r?\n\r?\n/)
      .map((event) =>
        event
          .split(/\r?\n/)
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n"),
      )
      .filter((data) => data !== "")
      .flatMap(parse);
  }
  return res.text === "" ? [] : parse(res.text);
}
