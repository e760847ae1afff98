// Forwards a call that was held for approval on an SSE answer already opened to the client, and
// relays the upstream's answer into it: SSE events byte for byte, a JSON answer as one message event,
// an HTTP failure as a JSON-RPC error for the call. The answer is read alongside to complete the
// call (refunds, audit), as on the ordinary path.
import { errors as undiciErrors, type Dispatcher } from "undici";
import type { HeldAnswer } from "../approvals/held-answer.ts";
import type { DecidedCall } from "../enforcement/enforcer.ts";
import { INVALID_REQUEST, rpcError } from "../mcp/answers.ts";
import { mediaType } from "../mcp/http-headers.ts";
import { idKey } from "../mcp/jsonrpc.ts";
import { eventData, SseSplitter } from "../mcp/sse.ts";
import { AnswerInspector, type PendingToolCall } from "./answer-inspector.ts";
import { abortOnClientClose, forwardHeaders, type Exchange, type ProxyDeps } from "./exchange.ts";

export async function forwardIntoHeld(deps: ProxyDeps, ex: Exchange, call: DecidedCall, body: Buffer, held: HeldAnswer): Promise<void> {
  const id = call.request.id;
  let done = false;
  const pending: PendingToolCall = {
    complete(outcome, status) {
      if (done) return;
      done = true;
      void deps.enforcer.complete(call, outcome, status);
    },
  };
  const writer = held.open();
  const controller = abortOnClientClose(ex.res);
  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await deps.upstream.request({ method: "POST", search: ex.search, headers: forwardHeaders(ex), body, signal: controller.signal });
  } catch (err) {
    pending.complete(controller.signal.aborted ? "cancelled" : "connection_error");
    if (controller.signal.aborted) return;
    const timeout = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError;
    deps.metrics.countRequest("tools/call", "upstream_error");
    await held.send(rpcError(id, INVALID_REQUEST, `The MCP server behind the policy proxy ${timeout ? "did not answer in time" : "cannot be reached"}`)).catch(() => undefined);
    held.end();
    return;
  }
  const status = upstream.statusCode;
  const inspector = new AnswerInspector({ toolCalls: new Map([[idKey(id), pending]]), toolLists: new Set(), hidden: undefined, knownTools: deps.knownTools, status, soleRequest: idKey(id) });
  const type = mediaType(headerString(upstream.headers["content-type"]));
  const encoding = headerString(upstream.headers["content-encoding"]);
  const readable = status >= 200 && status < 300 && (encoding === undefined || encoding === "identity");
  try {
    if (readable && type === "text/event-stream") {
      const splitter = new SseSplitter(deps.config.maxInspectBytes);
      for await (const chunk of upstream.body) {
        await writer.write(chunk as Buffer);
        if (!splitter.overflowed) for (const event of splitter.push(chunk as Buffer)) readEvent(inspector, event.raw);
      }
      if (!splitter.overflowed) for (const event of splitter.end()) readEvent(inspector, event.raw);
      inspector.finish("unknown", status);
    } else if (readable && type === "application/json") {
      const text = await readBounded(upstream, deps.config.maxInspectBytes);
      inspector.inspectText(text);
      inspector.finish("unknown", status);
      await held.send(JSON.parse(text) as unknown);
    } else {
      await upstream.body.dump();
      inspector.finish(status >= 400 ? "http_error" : "unknown", status);
      await held.send(rpcError(id, INVALID_REQUEST, `The MCP server behind the policy proxy answered HTTP ${status}`));
    }
    held.end();
  } catch (err) {
    inspector.finish(ex.res.destroyed ? "cancelled" : "connection_error", status);
    if (!ex.res.destroyed) deps.log.warn({ err: (err as Error).message }, "relaying the answer to an approved call failed");
    ex.res.destroy();
    upstream.body.destroy();
  }
}

function readEvent(inspector: AnswerInspector, raw: Buffer): void {
  const data = eventData(raw);
  if (data !== undefined) inspector.inspectText(data);
}

async function readBounded(upstream: Dispatcher.ResponseData, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of upstream.body) {
    size += (chunk as Buffer).length;
    if (size > max) throw new Error(`the upstream answer is larger than ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
