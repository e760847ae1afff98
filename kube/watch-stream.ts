// One watch request: streams the API server's newline-delimited events to a callback until the
// server closes the stream, the connection goes quiet for too long, the caller aborts, or something
// fails. Unlike client-node's Watch, a line that is not JSON is an error (never silently skipped),
// and the inactivity timeout is the caller's choice: it must exceed the API server's bookmark
// interval (about a minute), or every quiet watch reconnects for nothing.
import { systemClock, type Clock } from "./clock.ts";
import { KubeApiError } from "./api-errors.ts";
import { parseStatus, type KubeHttp } from "./http.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  type: WatchEventType;
  object: Record<string, unknown>;
}

export type WatchEnd =
  | { reason: "closed" } // the server ended the stream (timeoutSeconds, apiserver shutdown)
  | { reason: "idle" } // nothing arrived within the inactivity timeout
  | { reason: "aborted" } // the caller aborted
  | { reason: "failed"; error: Error };

export interface WatchOptions {
  http: KubeHttp;
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  signal: AbortSignal;
  inactivityTimeoutMs: number;
  clock?: Clock;
  onConnected?: () => void;
  /** Called for each event; returning "stop" ends the watch (reported as closed). */
  onEvent: (event: WatchEvent) => void | "stop";
}

/** Watch lines hold one object; anything near this size is not an event this program can use. */
const MAX_LINE_BYTES = 32 * 1024 * 1024;
const EVENT_TYPES = new Set<string>(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]);

export async function runWatch(options: WatchOptions): Promise<WatchEnd> {
  const clock = options.clock ?? systemClock;
  const controller = new AbortController();
  let idle = false;
  let timer = clock.schedule(options.inactivityTimeoutMs, () => ((idle = true), controller.abort()));
  const touch = () => {
    timer.cancel();
    timer = clock.schedule(options.inactivityTimeoutMs, () => ((idle = true), controller.abort()));
  };
  const onAbort = () => controller.abort();
  options.signal.addEventListener("abort", onAbort, { once: true });
  const ended = (): WatchEnd | undefined =>
    options.signal.aborted ? { reason: "aborted" } : idle ? { reason: "idle" } : undefined;

  try {
    const response = await options.http.fetch(options.path, {
      query: { ...options.query, watch: true },
      signal: controller.signal,
    });
    if (response.status !== 200) {
      const text = await response.text();
      return { reason: "failed", error: new KubeApiError(response.status, parseStatus(text), `watch ${options.path}`) };
    }
    touch();
    options.onConnected?.();
    if (!response.body) return { reason: "closed" };
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body) {
      touch();
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      if (buffer.length > MAX_LINE_BYTES)
        return {
          reason: "failed",
          error: new Error(`watch ${options.path}: event larger than ${MAX_LINE_BYTES} bytes`),
        };
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line === "") continue;
        const event = parseEvent(line);
        if (event instanceof Error) {
          controller.abort();
          return { reason: "failed", error: new Error(`watch ${options.path}: ${event.message}`) };
        }
        if (options.onEvent(event) === "stop") {
          controller.abort();
          return { reason: "closed" };
        }
      }
    }
    return ended() ?? { reason: "closed" };
  } catch (error) {
    return ended() ?? { reason: "failed", error: error instanceof Error ? error : new Error(String(error)) };
  } finally {
    timer.cancel();
    options.signal.removeEventListener("abort", onAbort);
  }
}

function parseEvent(line: string): WatchEvent | Error {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return new Error(`malformed watch event (not JSON): ${line.slice(0, 120)}`);
  }
  const event = parsed as { type?: unknown; object?: unknown };
  if (
    typeof event.type !== "string" ||
    !EVENT_TYPES.has(event.type) ||
    typeof event.object !== "object" ||
    event.object === null
  ) {
    return new Error(`malformed watch event: ${line.slice(0, 120)}`);
  }
  return event as WatchEvent;
}
