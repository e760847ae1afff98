// One HTTP exchange on the MCP endpoint and what every handler needs to serve it.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { SidecarConfig } from "../config.ts";
import type { Enforcer } from "../enforcement/enforcer.ts";
import type { CallerContext } from "../tool-call.ts";
import type { TargetEnforcer } from "../enforcement/target-enforcer.ts";
import type { KnownTools } from "../enforcement/tool-names.ts";
import { AnswerInspector, type ForwardedRequest } from "./answer-inspector.ts";
import { idScope, type RequestIds } from "./request-ids.ts";
import type { SidecarMetrics } from "../observability/metrics.ts";
import type { PolicyHolder } from "../policy-holder.ts";
import type { SessionTable } from "../sessions.ts";
import type { Upstream } from "./upstream.ts";
import { upstreamRequestHeaders } from "../mcp/http-headers.ts";
import { targetHidden } from "../../policy/decide-target.ts";
import type { TargetKind } from "../../policy/targets.ts";
import type { ApprovalRuntime } from "../approvals/runtime.ts";
import type { TraceSpan, Tracing } from "../../telemetry/tracing.ts";
import { pinsHideTest } from "../pins/pin-check.ts";
import { WITHHELD_PREFIX, withheldResult } from "../../policy/results/inspect.ts";

export interface ProxyDeps {
  config: SidecarConfig;
  upstream: Upstream;
  enforcer: Enforcer;
  /** Resources and prompts decisions. */
  targets: TargetEnforcer;
  holder: PolicyHolder;
  sessions: SessionTable;
  knownTools: KnownTools;
  metrics: SidecarMetrics;
  log: Logger;
  approvalRuntime: ApprovalRuntime;
  requestIds: RequestIds;
  tracing: Tracing;
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** The authenticated caller; `session` is filled in once the session header is checked. */
  context: CallerContext;
  startedAt: number;
  /** Query string of the request, passed on to the upstream. */
  search: string;
  /** The server span of the MCP request (POST), when tracing is on. */
  trace?: TraceSpan | undefined;
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
  const forwarded = {
    remoteAddress: ex.req.socket.remoteAddress,
    host: ex.req.headers.host,
    proto: encrypted ? ("https" as const) : ("http" as const),
  };
  // Only a POST carries a body upstream, and it is the sidecar's JSON.
  return upstreamRequestHeaders(ex.req.headers, forwarded, { jsonBody: ex.req.method === "POST" });
}

/**
 * The inspector of an upstream answer in the caller's id scope. A POST's answer maps only the requests
 * it forwarded (`forwarded`); a stream not tied to requests of its own (GET) passes the server's
 * requests and notifications, and an answer only when it replays one minted in the caller's session.
 */
export function answerInspector(
  deps: ProxyDeps,
  ex: Exchange,
  status: number,
  forwarded?: Map<number, ForwardedRequest>,
): AnswerInspector {
  const scope = idScope(ex.context.session, ex.context.caller.grant);
  const ids = deps.requestIds;
  return new AnswerInspector({
    forwarded: forwarded ?? new Map<number, ForwardedRequest>(),
    ...(forwarded === undefined
      ? { replayed: (minted: number) => ids.clientId(scope, minted) }
      : {
          cancelledByClient: (minted: number) => ids.cancelledByClient(scope, minted),
          answered: (minted: number) => ids.answered(scope, minted),
          interrupted: (minted: number) => ids.interrupted(scope, minted),
        }),
    hidden: hiddenToolsFilter(deps.holder, deps.knownTools),
    hiddenTarget: hiddenTargetsFilter(deps.holder),
    knownTargets: deps.targets.known,
    taskCreated: (taskId: string) => deps.targets.tasks.bind(taskId, ex.context.caller.grant),
    taskVisible: (taskId: string) => deps.targets.tasks.owns(taskId, ex.context.caller.grant),
    knownTools: deps.knownTools,
    status,
    log: deps.log,
    onDropped: () => deps.metrics.countRequest("_response", "dropped"),
    unattributedResult: unattributedResults(deps.holder),
  });
}

/**
 * A replayed answer's call is not known on the stream that replays it, nor a task's on the
 * `tasks/result` that fetches it, so their result rules cannot be applied: under a policy with
 * result rules (Enforce mode) such a tool result is withheld. Fail closed.
 */
function unattributedResults(holder: PolicyHolder): ((result: unknown) => unknown) | undefined {
  const policy = holder.current;
  if (!policy?.hasResultRules || policy.mode !== "Enforce") return undefined;
  return (result) =>
    typeof result === "object" && result !== null && ("content" in result || "structuredContent" in result)
      ? withheldResult(
          `${WITHHELD_PREFIX} A result was withheld by policy ${policy.name}: it cannot be matched to its tool call here (a replayed answer, or a task's result), ` +
            "so its result rules cannot be applied. Call the tool again, without a task.",
        )
      : result;
}

/** Whether a listed tool is hidden. A filter is undefined when nothing is hidden (lists pass unfiltered). */
type ToolFilter = (tool: string) => boolean;
type TargetFilter = (kind: TargetKind, target: string) => boolean;

/** Before any policy is loaded, lists show nothing rather than everything. */
const HIDE_EVERY_TOOL: ToolFilter = () => true;
const HIDE_EVERY_TARGET: TargetFilter = () => true;

/**
 * The filter of listed tools: a policy with `hide` entries, in Enforce mode, or Enforce pins that
 * hide drifted or unpinned tools (judged on the definitions of the answer being filtered: they are
 * learnt before it is filtered); undefined when nothing is hidden.
 */
function hiddenToolsFilter(holder: PolicyHolder, knownTools: KnownTools): ToolFilter | undefined {
  const policy = holder.current;
  if (!policy) return HIDE_EVERY_TOOL;
  const pinned = pinsHideTest(policy, knownTools.definitions);
  const listed =
    policy.mode === "Enforce" && policy.spec.hide?.length ? (tool: string) => policy.isHidden(tool) : undefined;
  if (!pinned) return listed;
  return listed ? (tool) => listed(tool) || pinned(tool) : pinned;
}

/** The filter of listed resources, resource templates and prompts; undefined when nothing is hidden. */
function hiddenTargetsFilter(holder: PolicyHolder): TargetFilter | undefined {
  const policy = holder.current;
  if (!policy) return HIDE_EVERY_TARGET;
  if (policy.mode !== "Enforce" || (policy.resources === undefined && policy.prompts === undefined)) return undefined;
  return (kind, target) => targetHidden(policy, kind, target);
}
