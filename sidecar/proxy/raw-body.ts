// The body of a request on the MCP endpoint, read raw and bounded: the proxy parses it itself,
// strictly (json/strict-json.ts). A body announced or found larger than the bound is refused without
// being kept (413), and so is a body whose size disagrees with its Content-Length (400). A body that
// arrived in one chunk is used as it is, without a copy; a body in several is copied into one buffer
// as it arrives. Chunks are never kept as they came: a chunked body of one-byte chunks would hold a
// Buffer object (about a hundred bytes of heap) per byte, a gigabyte for a body within a 4 MiB bound.
import type { IncomingMessage } from "node:http";

export type RawBody = { ok: true; body: Buffer } | { ok: false; status: 400 | 413; message: string };

/** Whether a DELETE or OPTIONS announces a body: it is read under the same bound and left unused (a GET's is never read). */
export function announcesBody(req: IncomingMessage): boolean {
  return (
    req.headers["content-type"] !== undefined &&
    (req.headers["transfer-encoding"] !== undefined || req.headers["content-length"] !== undefined)
  );
}

/** A body's bytes as they arrive: the first chunk as it is, then one buffer that grows by doubling (never past the bound). */
class BodyBytes {
  private first: Buffer | undefined;
  private joined: Buffer | undefined;
  private size = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  add(chunk: Buffer): void {
    if (this.first === undefined && this.joined === undefined) {
      this.first = chunk;
      this.size = chunk.length;
      return;
    }
    const size = this.size + chunk.length;
    if (this.joined === undefined || size > this.joined.length) this.grow(size);
    chunk.copy(this.joined as Buffer, this.size);
    this.size = size;
  }

  get length(): number {
    return this.size;
  }

  body(): Buffer {
    if (this.joined !== undefined) return this.joined.subarray(0, this.size);
    return this.first ?? Buffer.alloc(0);
  }

  private grow(needed: number): void {
    // Sized by what arrived, not by what was announced: a client that announces the bound and stalls holds no more than it sent.
    const capacity = Math.min(this.limit, Math.max(needed, 2 * (this.joined?.length ?? this.size), 16 * 1024));
    const next = Buffer.allocUnsafe(capacity);
    (this.joined ?? this.first)?.copy(next, 0, 0, this.size);
    this.joined = next;
    this.first = undefined;
  }
}

export function readRawBody(req: IncomingMessage, limit: number): Promise<RawBody> {
  const announced = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
  const tooLarge = { ok: false, status: 413, message: `Request body larger than ${limit} bytes` } as const;
  if (announced !== undefined && announced > limit) return Promise.resolve(tooLarge);
  return new Promise((resolve) => {
    const bytes = new BodyBytes(limit);
    const finish = (result: RawBody) => {
      req.off("data", onData).off("end", onEnd).off("error", onError);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      if (bytes.length + chunk.length > limit) finish(tooLarge);
      else bytes.add(chunk);
    };
    const onEnd = () => {
      if (announced !== undefined && bytes.length !== announced)
        finish({ ok: false, status: 400, message: "Request body size did not match Content-Length" });
      else finish({ ok: true, body: bytes.body() });
    };
    const onError = (err: Error) => finish({ ok: false, status: 400, message: err.message });
    req.on("data", onData).on("end", onEnd).on("error", onError);
  });
}
