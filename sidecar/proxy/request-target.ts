// The request-target a client sent, judged before anything else reads it. The MCP endpoint is served
// only for the origin-form target whose path is byte for byte the MCP path (a query may follow):
// the router decodes percent-escapes and may fold other spellings (`/%6Dcp`, absolute-form
// `http://x/mcp`) onto the MCP route, and a check that reads the raw URL one way while the router reads
// it another is a way around authentication. Everything else is answered by the sidecar itself.

export type TargetProblem = "not-origin-form" | "not-the-mcp-path";

/** Whether a raw request-target is origin-form (RFC 9112 §3.2.1): absolute-form, authority-form and `*` are not. */
export function isOriginForm(rawTarget: string | undefined): boolean {
  return rawTarget !== undefined && rawTarget.startsWith("/");
}

/** What is wrong with a request-target the router sent to the MCP route, if anything. */
export function mcpTargetProblem(rawTarget: string | undefined, mcpPath: string): TargetProblem | undefined {
  if (!isOriginForm(rawTarget)) return "not-origin-form";
  const query = (rawTarget as string).indexOf("?");
  const path = query === -1 ? rawTarget : (rawTarget as string).slice(0, query);
  return path === mcpPath ? undefined : "not-the-mcp-path";
}

/** The query of a raw request-target (with its `?`), or "". */
export function searchOf(rawTarget: string): string {
  const query = rawTarget.indexOf("?");
  return query === -1 ? "" : rawTarget.slice(query);
}
