// What every request to the MCP endpoint passes before its body is read, run by the front door
// (mcp-server.ts) once the target is exactly the MCP path: a Connection header that names no
// header, the Origin allow-list (browsers, DNS rebinding), authentication, and for a POST a body
// without Content-Encoding. Failures are answered here: 400, 403, 401 with a WWW-Authenticate
// challenge (naming the RFC 9728 metadata when OAuth tokens are accepted), 503 when tokens cannot be
// verified right now, or 415.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallerContext } from "../tool-call.ts";
import type { Authenticator } from "../identity/authenticator.ts";
import { protectedResourceMetadataUrl } from "../identity/protected-resource.ts";
import { INVALID_REQUEST, rpcError } from "../mcp/answers.ts";
import { connectionHeaderProblem, hasRequestContentEncoding, headerValue } from "../mcp/http-headers.ts";
import type { SidecarMetrics } from "../observability/metrics.ts";
import type { PolicyHolder } from "../policy-holder.ts";
import { sendJson } from "./downstream.ts";

export interface GateDeps {
  authenticator: Authenticator;
  holder: PolicyHolder;
  metrics: SidecarMetrics;
  allowedOrigins: readonly string[];
  publicUrl: URL | undefined;
  mcpPath: string;
}

/** The caller of a request that passes the gate; undefined when the gate answered it. */
export async function passGate(
  deps: GateDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Omit<CallerContext, "session"> | undefined> {
  const method = req.method === "GET" || req.method === "DELETE" ? req.method : "_invalid";
  const connection = connectionHeaderProblem(req.headers);
  if (connection !== undefined) {
    deps.metrics.countRequest(method, "rejected");
    sendJson(res, 400, rpcError(null, INVALID_REQUEST, `Bad Request: ${connection}`));
    return undefined;
  }
  const origin = headerValue(req.headers, "origin");
  if (origin !== undefined) {
    const allowed = [...deps.allowedOrigins, ...(deps.holder.current?.spec.sidecar?.allowedOrigins ?? [])];
    if (allowed.length > 0 && !allowed.includes(origin)) {
      deps.metrics.countRequest(method, "forbidden");
      sendJson(res, 403, rpcError(null, INVALID_REQUEST, `Forbidden: Origin ${origin} is not allowed`));
      return undefined;
    }
  }
  const result = await deps.authenticator.authenticate(headerValue(req.headers, "authorization"));
  if (result.ok) {
    if (req.method === "POST" && hasRequestContentEncoding(req.headers)) {
      // The upstream would decode what the sidecar never read (express.json inflates gzip, deflate, br).
      deps.metrics.countRequest(method, "rejected");
      sendJson(
        res,
        415,
        rpcError(null, INVALID_REQUEST, "Unsupported Media Type: the body must not have a Content-Encoding"),
      );
      return undefined;
    }
    return { caller: result.caller, authMethod: result.method };
  }
  deps.metrics.countRequest(method, "unauthenticated");
  if (result.problem === "unavailable") {
    sendJson(res, 503, rpcError(null, INVALID_REQUEST, result.message), { "retry-after": "5" });
    return undefined;
  }
  const params: string[] = [];
  if (deps.authenticator.usesOAuth)
    params.push(`resource_metadata="${protectedResourceMetadataUrl(req, deps.publicUrl, deps.mcpPath)}"`);
  else params.push('realm="mcp-warden"');
  if (result.problem === "invalid")
    params.push('error="invalid_token"', `error_description="${result.message.replace(/["\\\r\n]/g, "'")}"`);
  sendJson(res, 401, rpcError(null, INVALID_REQUEST, `Unauthorized: ${result.message}`), {
    "www-authenticate": `Bearer ${params.join(", ")}`,
  });
  return undefined;
}
