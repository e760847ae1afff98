// OAuth 2.0 Protected Resource Metadata (RFC 9728) for the MCP endpoint, which MCP clients read to
// find where to get a token. Served at `/.well-known/oauth-protected-resource` and at the same path
// with the MCP endpoint's path appended (RFC 9728 §3.1), when JWT or service-account tokens are accepted.
import type { IncomingMessage } from "node:http";
import { headerValue } from "../mcp/http-headers.ts";

export const WELL_KNOWN = "/.well-known/oauth-protected-resource";

/** The origin clients use to reach the sidecar: the configured public URL, else the request's Host. */
function publicOrigin(req: IncomingMessage, publicUrl: URL | undefined): string {
  if (publicUrl) return publicUrl.origin;
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const proto = headerValue(req.headers, "x-forwarded-proto") === "https" || encrypted ? "https" : "http";
  return `${proto}://${headerValue(req.headers, "host") ?? "localhost"}`;
}

export function protectedResourceMetadataUrl(
  req: IncomingMessage,
  publicUrl: URL | undefined,
  mcpPath: string,
): string {
  return `${publicOrigin(req, publicUrl)}${WELL_KNOWN}${publicUrl ? publicUrl.pathname.replace(/\/$/, "") : mcpPath}`;
}

export function protectedResourceMetadata(
  req: IncomingMessage,
  publicUrl: URL | undefined,
  mcpPath: string,
  authorizationServers: readonly string[],
): Record<string, unknown> {
  return {
    resource: publicUrl ? publicUrl.href : `${publicOrigin(req, publicUrl)}${mcpPath}`,
    authorization_servers: authorizationServers,
    bearer_methods_supported: ["header"],
    resource_name: "MCP server (policy enforced by mcp-warden)",
  };
}
