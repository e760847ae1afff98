// A raw recording TCP tap between the sidecar and an upstream: every connection the sidecar opens is
// relayed byte for byte to the upstream, and the bytes of both directions are kept (and appended to a
// file) so a failing case can be read as it crossed the wire, and a test can check what reached the
// upstream below any HTTP library's reading of it.
import { appendFileSync } from "node:fs";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

export interface TapChunk {
  readonly connection: number;
  readonly at: number;
  /** ">": the sidecar sent it to the upstream; "<": the upstream sent it back. */
  readonly direction: ">" | "<";
  readonly data: Buffer;
}

export interface Tap {
  /** Where the sidecar should send: http://127.0.0.1:PORT/mcp. */
  readonly url: string;
  /** The file that receives every chunk as it passes ("> " to the upstream, "< " back, per connection). */
  readonly logFile: string;
  /** The most recent chunks, in the order they passed. */
  readonly chunks: readonly TapChunk[];
  /** Everything sent to the upstream since `since` (a Date.now() value), as latin1 text. */
  sentSince(since: number): string;
  /** The last `bytes` of both directions since `since`, for failure messages. */
  excerpt(since: number, bytes?: number): string;
  close(): Promise<void>;
}

/** Keeps the most recent chunks only: a long fuzz run must not grow without bound. */
const MAX_CHUNKS = 20_000;

export async function startTap(upstreamUrl: string, logFile: string): Promise<Tap> {
  const target = new URL(upstreamUrl);
  const chunks: TapChunk[] = [];
  const sockets = new Set<Socket>();
  let next = 0;

  const keep = (connection: number, direction: ">" | "<", data: Buffer) => {
    chunks.push({ connection, at: Date.now(), direction, data });
    if (chunks.length > MAX_CHUNKS) chunks.splice(0, chunks.length - MAX_CHUNKS);
    appendFileSync(logFile, `${direction}${connection} ${JSON.stringify(data.toString("latin1"))}\n`);
  };

  const server: Server = createServer((client) => {
    const id = ++next;
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on("data", (chunk: Buffer) => {
      keep(id, ">", chunk);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      keep(id, "<", chunk);
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  const since = (t: number) => chunks.filter((c) => c.at >= t);
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    logFile,
    chunks,
    sentSince: (t) =>
      since(t)
        .filter((c) => c.direction === ">")
        .map((c) => c.data.toString("latin1"))
        .join(""),
    excerpt(t, bytes = 4000) {
      const text = since(t)
        .map((c) => `${c.direction}${c.connection} ${c.data.toString("latin1")}`)
        .join("\n");
      return text.length > bytes ? `…${text.slice(-bytes)}` : text;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
