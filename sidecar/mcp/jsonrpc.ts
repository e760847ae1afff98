// JSON-RPC messages as the sidecar sees them in a POST body. Only the methods the sidecar polices are
// interpreted strictly; everything else is classified just enough to be forwarded untouched.
export type RequestId = string | number;

export type ClientMessage =
  | { kind: "request"; id: RequestId; method: string; params: unknown; raw: Record<string, unknown> }
  | { kind: "notification"; method: string; params: unknown; raw: Record<string, unknown> }
  /** A client's answer to a server-to-client request (elicitation, sampling, roots). */
  | { kind: "response"; raw: Record<string, unknown> }
  /** Not a JSON-RPC message the sidecar can read; `id` when one can be answered. */
  | { kind: "invalid"; id: RequestId | null; method: string | undefined; problem: string; raw: unknown };

/** Methods the sidecar acts on; a look-alike of one of these is never forwarded. */
export const POLICED_METHODS: readonly string[] = [
  "tools/call",
  "tools/list",
  "resources/read",
  "resources/list",
  "resources/templates/list",
  "prompts/get",
  "prompts/list",
  "resources/subscribe",
  "subscriptions/listen",
  "completion/complete",
  "tasks/get",
  "tasks/result",
  "tasks/cancel",
  "tasks/update",
  "tasks/list",
];

/** The method a message is counted under: its own, or `_response` / `_invalid` (metrics). */
export function methodOf(message: ClientMessage): string {
  if (message.kind === "response") return "_response";
  if (message.kind === "invalid") return "_invalid";
  return message.method;
}

const CONTROL = /\p{Cc}/u;

export function classify(raw: unknown): ClientMessage {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { kind: "invalid", id: null, method: undefined, problem: "a JSON-RPC message must be an object", raw };
  }
  const message = raw as Record<string, unknown>;
  const { method } = message;
  const hasId = Object.hasOwn(message, "id");
  const id = message.id;
  const validId = typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
  if (method === undefined) {
    if (Object.hasOwn(message, "result") || Object.hasOwn(message, "error")) return { kind: "response", raw: message };
    return {
      kind: "invalid",
      id: validId ? id : null,
      method: undefined,
      problem: "a JSON-RPC message needs a method, a result or an error",
      raw,
    };
  }
  if (typeof method !== "string") {
    return { kind: "invalid", id: validId ? id : null, method: undefined, problem: "method must be a string", raw };
  }
  if (CONTROL.test(method))
    return {
      kind: "invalid",
      id: validId ? id : null,
      method: undefined,
      problem: "method must not contain control characters",
      raw,
    };
  if (!hasId) return { kind: "notification", method, params: message.params, raw: message };
  if (!validId) return { kind: "invalid", id: null, method, problem: "id must be a string or a number", raw };
  return { kind: "request", id, method, params: message.params, raw: message };
}

/**
 * Whether `method` imitates a policed method without being it: JSON-RPC method names are
 * case-sensitive, so `Tools/Call`, `tools/call ` or full-width `ｔｏｏｌｓ/call` are other methods to a
 * strict server, but a lenient one might fold them into the real thing (or stop reading at a NUL).
 */
export function imitatesPolicedMethod(method: string): boolean {
  if (POLICED_METHODS.includes(method)) return false;
  const folded = method
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\s\p{Cc}\p{Cf}\p{Z}\u180e]/gu, "");
  return POLICED_METHODS.includes(folded);
}

/** A key for matching answers to requests: ids 1 and "1" are different requests. */
export function idKey(id: RequestId): string {
  return typeof id === "number" ? `n:${id}` : `s:${id}`;
}
