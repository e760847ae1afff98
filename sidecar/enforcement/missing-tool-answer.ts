// How the upstream answers a `tools/call` of a tool it does not have, so that a hidden tool answers the
// same way and an agent cannot tell hidden from missing (ADR 0122). The sidecar's own session asks once
// per upstream session for a name that cannot exist (`probeName`: unguessable, never in the listed
// catalogue) and keeps the answer as a template: a JSON-RPC error (code, message, data) or a tool
// result, with the probe name standing for the tool's name wherever it appears. Until an answer is
// learnt, and for answers that do not look like a refusal, the spec's invalid-params error stands in.
import { randomBytes } from "node:crypto";
import { INVALID_PARAMS } from "../mcp/answers.ts";
import type { RequestId } from "../mcp/jsonrpc.ts";

/** Larger answers are not kept: a refusal is a sentence, and the template is copied into every answer. */
const MAX_TEMPLATE_BYTES = 16 * 1024;
/** Begins every probe name: letters, digits and '-' (MCP's tool-name guidance), so no server refuses its form. */
export const PROBE_PREFIX = "mcp-warden-absent-";

/** Stands for the tool's name in a template (never a valid tool name: it holds a NUL). */
const PLACEHOLDER = "\u0000tool\u0000";

export type MissingToolShape =
  | { kind: "error"; template: { code: number; message: string; data?: unknown } }
  | { kind: "result"; template: Record<string, unknown> };

/** A name no server has: 128 random bits, unguessable by an agent or a tool author. */
export function probeName(): string {
  return `${PROBE_PREFIX}${randomBytes(16).toString("hex")}`;
}

/**
 * What to keep of the upstream's answer to a probe, or why it cannot serve as the answer for a missing
 * tool. A result that is not an error means the server claims to have run a tool it cannot have: it
 * is not imitated.
 */
export function shapeOf(answer: unknown, probe: string): { shape: MissingToolShape } | { problem: string } {
  if (typeof answer !== "object" || answer === null) return { problem: "the answer is not a JSON-RPC message" };
  const size = Buffer.byteLength(JSON.stringify(answer));
  if (size > MAX_TEMPLATE_BYTES)
    return { problem: `the answer has ${size} bytes (at most ${MAX_TEMPLATE_BYTES} are kept)` };
  const { error, result } = answer as { error?: unknown; result?: unknown };
  // A name the server wrote in another form (escaped, cut short) cannot be replaced by the tool's:
  // the answer would show agents the probe's name.
  const marker = probe.slice(PROBE_PREFIX.length, PROBE_PREFIX.length + 12);
  if (marker !== "" && JSON.stringify(substitute(answer, probe, PLACEHOLDER)).includes(marker))
    return { problem: "the answer names the absent tool in a form other than its name" };
  if (
    isObject(error) &&
    typeof error.code === "number" &&
    Number.isInteger(error.code) &&
    typeof error.message === "string"
  ) {
    return {
      shape: {
        kind: "error",
        template: substitute(error, probe, PLACEHOLDER) as MissingToolShape["template"] & {
          code: number;
          message: string;
        },
      },
    };
  }
  if (isObject(result)) {
    if (result.isError !== true)
      return { problem: `the upstream answered a call of the absent tool ${probe} without isError: true` };
    return { shape: { kind: "result", template: substitute(result, probe, PLACEHOLDER) as Record<string, unknown> } };
  }
  return { problem: "the answer has neither an error nor a result object" };
}

export class MissingToolAnswer {
  private shape: MissingToolShape | undefined;

  /** The shape learnt from the upstream, or undefined while the fallback applies. */
  get learnt(): MissingToolShape | undefined {
    return this.shape;
  }

  learn(shape: MissingToolShape): void {
    this.shape = shape;
  }

  /**
   * The answer to a call of `tool` as the upstream answers a tool it does not have. `modern`: the
   * request speaks 2026-07-28 or later, whose results say `resultType`.
   */
  answer(id: RequestId, tool: string, modern = false): Record<string, unknown> {
    const shape = this.shape;
    if (!shape) return { jsonrpc: "2.0", id, error: { code: INVALID_PARAMS, message: `Unknown tool: '${tool}'` } };
    if (shape.kind === "error") return { jsonrpc: "2.0", id, error: substitute(shape.template, PLACEHOLDER, tool) };
    const result = substitute(shape.template, PLACEHOLDER, tool) as Record<string, unknown>;
    if (modern && result.resultType === undefined) result.resultType = "complete";
    return { jsonrpc: "2.0", id, result };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A deep copy with `from` replaced by `to` in every string (keys included). */
function substitute(value: unknown, from: string, to: string): unknown {
  if (typeof value === "string") return value.replaceAll(from, to);
  if (Array.isArray(value)) return value.map((v) => substitute(v, from, to));
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replaceAll(from, to), substitute(v, from, to)]));
  return value;
}
