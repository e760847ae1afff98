// The next step of a 2026-07-28 approval round trip (ADR 0708), as the approvals decide it and the
// proxy carries it out: ask (an InputRequiredResult), refuse, forward the approved retry, or nothing
// when the client went away.
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import type { Admission } from "../../policy/decide.ts";
import type { ApprovalRecord, Verdict } from "../tool-call.ts";

/** What to do with a call approved through an InputRequiredResult round trip. */
export type InputApprovalStep =
  /** Answer with an InputRequiredResult: the question (unless only Kubernetes decides), the state, the McpApproval. */
  | { kind: "ask"; state: string; question: boolean; approval?: McpApprovalObject | undefined }
  /** Answer with this decision. */
  | { kind: "refuse"; verdict: Verdict; record?: ApprovalRecord | undefined }
  /** Approved, its limits admitted: forward the retry (without the sidecar's state and answer). */
  | { kind: "forward"; record: ApprovalRecord; admission: Admission }
  /** The client went away while the retry waited for a decision: nothing to answer. */
  | { kind: "gone" };

/** The client's answer to the approval question, as it comes in inputResponses. */
export type InputReply = { action?: unknown; content?: Record<string, unknown> };
