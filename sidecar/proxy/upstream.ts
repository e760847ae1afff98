// The upstream leg: one undici Pool for the MCP server's origin, shared by every caller and session
// (no connection or session per call). Connect and first-byte timeouts are bounded; bodies are not,
// because SSE streams may stay quiet for a long time (undici's default 300 s body timeout would cut them).
// Idle connections are closed by the sidecar before the server closes them (uvicorn and Node after
// 5 s): a request sent on a connection the server is closing at that moment fails, and a tool call
// (a POST) cannot be resent safely. The bound holds whatever Keep-Alive hint the server sends.
import { Pool, type Dispatcher } from "undici";

export interface UpstreamOptions {
  url: URL;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  /** Idle upstream connections are closed after this long. */
  keepAliveTimeoutMs: number;
  maxConnections: number | undefined;
}

export interface UpstreamRequest {
  method: "POST" | "GET" | "DELETE" | "OPTIONS";
  /** Path and query as the client sent them after the MCP path (the MCP path itself is the upstream's). */
  search: string;
  headers: Record<string, string | string[]>;
  body?: Buffer | string | undefined;
  signal: AbortSignal;
}

export class Upstream {
  readonly url: URL;
  private readonly pool: Pool;

  constructor(options: UpstreamOptions) {
    this.url = options.url;
    this.pool = new Pool(options.url.origin, {
      connections: options.maxConnections ?? null,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: 0,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      keepAliveMaxTimeout: options.keepAliveTimeoutMs,
      pipelining: 1,
    });
  }

  request(req: UpstreamRequest): Promise<Dispatcher.ResponseData> {
    return this.pool.request({
      path: `${this.url.pathname}${req.search}`,
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: req.signal,
    });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Aborts everything still open (end of the shutdown grace). */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}
