// One HTTP exchange on the MCP endpoint and what every handler needs to serve it.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { SidecarConfig } from "../config.ts";
import type { CallerContext, Enforcer } from "../enforcement/enforcer.ts";
import type { KnownTools } from "../enforcement/tool-names.ts";
import { AnswerInspector } from "./answer-inspector.ts";
import { idScope, type RequestIds } from "./request-ids.ts";
import type { SidecarMetrics } from "../observability/metrics.ts";
import type { PolicyHolder } from "../policy-holder.ts";
import type { SessionTable } from "../sessions.ts";
import type { Upstream } from "./upstream.ts";
import { upstreamRequestHeaders } from "../mcp/http-headers.ts";
import type { ApprovalRuntime } from "../approvals/runtime.ts";

export interface ProxyDeps {
  config: SidecarConfig;
  upstream: Upstream;
  enforcer: Enforcer;
  holder: PolicyHolder;
  sessions: SessionTable;
  knownTools: KnownTools;
  metrics: SidecarMetrics;
  log: Logger;
  approvals: ApprovalRuntime;
  requestIds: RequestIds;
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** The authenticated caller; `session` is filled in once the session header is checked. */
  caller: CallerContext;
  startedAt: number;
  /** Query string of the request, passed on to the upstream. */
  search: string;
}

/** Aborts the upstream request when the client goes away before its answer is complete. */
export function abortOnClientClose(res: ServerResponse): AbortController {
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller;
}

export function forwardHeaders(ex: Exchange): Record<string, string | string[]> {
  const encrypted = (ex.req.socket as { encrypted?: boolean }).encrypted === true;
  const forwarded = { remoteAddress: ex.req.socket.remoteAddress, host: ex.req.headers.host, proto: encrypted ? "https" as const : "http" as const };
  // Only a POST carries a body upstream, and it is the sidecar's JSON.
  return upstreamRequestHeaders(ex.req.headers, forwarded, { jsonBody: ex.req.method === "POST" });
}

/**
 * An inspector for a stream not tied to requests of its own (GET): the server's requests and
 * notifications pass; an answer passes only when it replays one minted in the caller's session.
 */
export function streamInspector(deps: ProxyDeps, ex: Exchange, status: number): AnswerInspector {
  const scope = idScope(ex.caller.session, ex.caller.caller.grant);
  return new AnswerInspector({
    forwarded: new Map(),
    replayed: (minted) => deps.requestIds.clientId(scope, minted),
    hidden: hiddenTest(deps.holder),
    knownTools: deps.knownTools,
    status,
    log: deps.log,
    onDropped: () => deps.metrics.countRequest("_response", "dropped"),
  });
}

/** The hidden-tool test while filtering applies: a policy with `hide` entries, in Enforce mode. */
export function hiddenTest(holder: PolicyHolder): ((tool: string) => boolean) | undefined {
  const policy = holder.current;
  if (!policy) return () => true; // no policy: list nothing rather than everything
  if (policy.mode !== "Enforce" || !policy.spec.hide?.length) return undefined;
  return (tool) => policy.isHidden(tool);
}
