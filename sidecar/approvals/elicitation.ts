// Asking the person at the client with `elicitation/create`, on the stream of the call being held,
// and matching the client's answer (a POST carrying a JSON-RPC response) back to the question. The
// sidecar's request ids carry a prefix and 128 random bits, so they cannot collide with the
// upstream's own server-to-client requests; an answer counts only from the session and caller the
// question went to. Answers meant for the upstream pass on untouched.
import { randomBytes } from "node:crypto";
import type { RequestId } from "../mcp/jsonrpc.ts";

export const ELICITATION_ID_PREFIX = "mcp-warden-approval-";

export type ElicitationReply =
  | { action: "accept"; content: Record<string, unknown> }
  | { action: "decline" }
  | { action: "cancel" }
  /** The client answered with a JSON-RPC error (e.g. it cannot show forms after all). */
  | { action: "error"; message: string };

/** Where a question goes: the session and caller of the held call. */
export interface ElicitationTarget {
  session: string;
  grant: string;
}

interface Outstanding extends ElicitationTarget {
  resolve(reply: ElicitationReply): void;
}

export class ElicitationBroker {
  readonly #outstanding = new Map<string, Outstanding>();

  get outstanding(): number {
    return this.#outstanding.size;
  }

  /**
   * Sends the question with `send` and resolves with the client's answer. When `signal` aborts first,
   * the client is told with `notifications/cancelled` (if it can still be reached) and this resolves
   * to cancel.
   */
  async ask(
    target: ElicitationTarget,
    params: Record<string, unknown>,
    send: (message: Record<string, unknown>) => Promise<void>,
    signal: AbortSignal,
  ): Promise<ElicitationReply> {
    const id = `${ELICITATION_ID_PREFIX}${randomBytes(16).toString("base64url")}`;
    const answered = new Promise<ElicitationReply>((resolve) => this.#outstanding.set(id, { ...target, resolve }));
    try {
      if (signal.aborted) return { action: "cancel" };
      await send({ jsonrpc: "2.0", id, method: "elicitation/create", params });
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<"aborted">((resolve) => {
        onAbort = () => resolve("aborted");
        signal.addEventListener("abort", onAbort, { once: true });
      });
      const first = await Promise.race([answered, aborted]);
      if (onAbort) signal.removeEventListener("abort", onAbort);
      if (first !== "aborted") return first;
      await send({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: id, reason: "decided elsewhere" },
      }).catch(() => undefined);
      return { action: "cancel" };
    } finally {
      this.#outstanding.delete(id);
    }
  }

  /** Takes a client's response if it answers one of our questions; false leaves it for the upstream. */
  deliver(message: Record<string, unknown>, session: string | undefined, grant: string): boolean {
    const id = message.id as RequestId | undefined;
    if (typeof id !== "string" || !id.startsWith(ELICITATION_ID_PREFIX)) return false;
    const outstanding = this.#outstanding.get(id);
    // Ours by its prefix, but not (or no longer) asked of this caller: dropped, never forwarded.
    if (!outstanding || outstanding.session !== session || outstanding.grant !== grant) return true;
    this.#outstanding.delete(id);
    outstanding.resolve(readReply(message));
    return true;
  }
}

function readReply(message: Record<string, unknown>): ElicitationReply {
  if (Object.hasOwn(message, "error")) {
    const error = message.error as { message?: unknown } | undefined;
    return { action: "error", message: typeof error?.message === "string" ? error.message.slice(0, 200) : "error" };
  }
  const result = message.result as { action?: unknown; content?: unknown } | undefined;
  switch (result?.action) {
    case "accept":
      return {
        action: "accept",
        content:
          typeof result.content === "object" && result.content !== null && !Array.isArray(result.content)
            ? (result.content as Record<string, unknown>)
            : {},
      };
    case "decline":
      return { action: "decline" };
    case "cancel":
      return { action: "cancel" };
    default:
      return { action: "error", message: "the answer is not an elicitation result" };
  }
}

/** Whether a client's `initialize` capabilities include form elicitation (`{}` means form, for older clients). */
export function supportsFormElicitation(capabilities: unknown): boolean {
  if (typeof capabilities !== "object" || capabilities === null) return false;
  const elicitation = (capabilities as Record<string, unknown>).elicitation;
  if (typeof elicitation !== "object" || elicitation === null || Array.isArray(elicitation)) return false;
  const modes = Object.keys(elicitation);
  return modes.length === 0 || modes.includes("form");
}

/** The question for the person at the client: the call, its redacted arguments, and an approve box. */
export function approvalQuestion(tool: string, policy: string, preview: string): Record<string, unknown> {
  // No `mode` field: form is the default, and clients of 2025-06-18 do not know the field.
  return {
    message: `The agent wants to call '${tool}' with the arguments ${preview}. Policy ${policy} needs a person to approve this call. Approve it?`,
    requestedSchema: {
      type: "object",
      properties: {
        approve: {
          type: "boolean",
          title: `Run ${tool}`,
          description: "Approve this one call with exactly these arguments.",
          default: false,
        },
        reason: {
          type: "string",
          title: "Reason",
          description: "Why (optional; shown to the agent when you decline).",
        },
      },
      required: ["approve"],
    },
  };
}
