// The body of a request on the MCP endpoint, read raw and bounded: the proxy parses it itself,
// strictly (json/strict-json.ts). A body announced or found larger than the bound is refused without
// being kept (413), and so is a body whose size disagrees with its Content-Length (400). A body that
// arrived in one chunk is used as it is, without a copy.
import type { IncomingMessage } from "node:http";

export type RawBody = { ok: true; body: Buffer } | { ok: false; status: 400 | 413; message: string };

/** Whether a DELETE or OPTIONS announces a body: it is read under the same bound and left unused (a GET's is never read). */
export function announcesBody(req: IncomingMessage): boolean {
  return req.headers["content-type"] !== undefined && (req.headers["transfer-encoding"] !== undefined || req.headers["content-length"] !== undefined);
}

export function readRawBody(req: IncomingMessage, limit: number): Promise<RawBody> {
  const announced = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
  const tooLarge = { ok: false, status: 413, message: `Request body larger than ${limit} bytes` } as const;
  if (announced !== undefined && announced > limit) return Promise.resolve(tooLarge);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (result: RawBody) => {
      req.off("data", onData).off("end", onEnd).off("error", onError);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) finish(tooLarge);
      else chunks.push(chunk);
    };
    const onEnd = () => {
      if (announced !== undefined && received !== announced) finish({ ok: false, status: 400, message: "Request body size did not match Content-Length" });
      else finish({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received) });
    };
    const onError = (err: Error) => finish({ ok: false, status: 400, message: err.message });
    req.on("data", onData).on("end", onEnd).on("error", onError);
  });
}
