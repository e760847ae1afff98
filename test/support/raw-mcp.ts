// Raw MCP-over-HTTP requests for tests that must see exactly what crosses the wire (batches, SSE
// frames, headers), below what an SDK client would show.
import { request } from "undici";

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export const ACCEPT_BOTH = "application/json, text/event-stream";

export async function rawPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const res = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: ACCEPT_BOTH, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** Initializes a session (protocol 2025-03-26 unless given) and returns its id. */
export async function rawInitialize(
  url: string,
  headers: Record<string, string> = {},
  protocolVersion = "2025-03-26",
): Promise<string> {
  const answer = await rawPost(
    url,
    {
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion, capabilities: {}, clientInfo: { name: "raw", version: "1" } },
    },
    headers,
  );
  const session = answer.headers["mcp-session-id"];
  if (typeof session !== "string") throw new Error(`initialize issued no session: ${answer.status} ${answer.text}`);
  await rawPost(
    url,
    { jsonrpc: "2.0", method: "notifications/initialized" },
    { ...headers, "mcp-session-id": session, "mcp-protocol-version": protocolVersion },
  );
  return session;
}

/** JSON-RPC messages in an answer body, JSON or SSE. */
export function messagesOf(answer: RawAnswer): Record<string, unknown>[] {
  const type = String(answer.headers["content-type"] ?? "");
  if (type.startsWith("text/event-stream")) {
    return answer.text
      .split(/\r?\n\r?\n/)
      .map((event) =>
        event
          .split(/\r?\n/)
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n"),
      )
      .filter((data) => data !== "")
      .flatMap((data) => [JSON.parse(data) as Record<string, unknown> | Record<string, unknown>[]].flat());
  }
  return answer.text === ""
    ? []
    : [JSON.parse(answer.text) as Record<string, unknown> | Record<string, unknown>[]].flat();
}

export function toolCall(
  id: number | string,
  name: string,
  args: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args, ...extra } };
}
