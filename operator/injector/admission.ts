// AdmissionReview v1 in, AdmissionReview v1 out: validates what the API server sent, asks the
// injector, and records the decision as a metric, a log line and (for decisions someone should see)
// an Event. Malformed reviews get HTTP 400; a replica whose policy cache is not synced refuses
// rather than guess, so a selected MCP server never starts unguarded.
import type { V1Pod } from "@kubernetes/client-node";
import type { EventRecorder, EventTarget } from "../../kube/event-recorder.ts";
import { silentLogger, type Logger } from "../../kube/logger.ts";
import type { OperatorMetrics } from "../metrics.ts";
import type { PolicyIndex } from "../policy-index.ts";
import type { InjectorConfig } from "./config.ts";
import { decideInjection, type InjectionOutcome } from "./injector.ts";
import type { InjectionReason, InjectionResult } from "./outcome.ts";
import { TRACING_OFF, type TraceCarrier, type Tracing } from "../../telemetry/tracing.ts";

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  namespace?: string;
  operation?: string;
  dryRun?: boolean;
  object?: unknown;
}

export interface AdmissionReviewResponse {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: {
    uid: string;
    allowed: boolean;
    patchType?: "JSONPatch";
    patch?: string;
    warnings?: string[];
    status?: { code: number; reason?: string; message: string };
  };
}

export type AdmissionAnswer =
  { status: 200; body: AdmissionReviewResponse } | { status: 400; body: { message: string } };

export interface AdmissionHandlerOptions {
  index: PolicyIndex;
  config: InjectorConfig;
  /** False until the policy cache has synced. */
  ready: () => boolean;
  metrics: OperatorMetrics;
  events?: EventRecorder | undefined;
  logger?: Logger;
  /** Traces of admission decisions (off unless given). */
  tracing?: Tracing;
}

/** Warnings longer than this are cut (the API server limits what it passes on). */
const WARNING_LIMIT = 512;

export class AdmissionHandler {
  readonly #o: AdmissionHandlerOptions & { logger: Logger };

  constructor(options: AdmissionHandlerOptions) {
    this.#o = { logger: silentLogger, ...options };
  }

  /** `trace`: the API server's trace context (its traceparent header), which the decision's span continues. */
  review(body: unknown, trace?: TraceCarrier): AdmissionAnswer {
    const started = process.hrtime.bigint();
    const span = (this.#o.tracing ?? TRACING_OFF).start(
      "mcp_warden.admission",
      "server",
      [trace],
      reviewAttributes(body),
    );
    const answer = this.#review(body);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.#o.metrics.webhookDuration.observe({ result: answer.result }, seconds);
    this.#o.metrics.injections.inc({ result: answer.result, reason: answer.reason });
    if (span) {
      span.setAttributes({
        "mcp_warden.admission.decision": admissionDecision(answer),
        "mcp_warden.admission.result": answer.result,
        "mcp_warden.admission.reason": answer.reason,
        "mcp_warden.policy.name": answer.policy,
        "http.response.status_code": answer.answer.status,
      });
      if (answer.result === "error") span.fail(answer.reason);
      span.end();
    }
    return answer.answer;
  }

  #review(body: unknown): {
    answer: AdmissionAnswer;
    result: InjectionResult;
    reason: InjectionReason;
    policy?: string | undefined;
  } {
    const request = parseReview(body);
    if (typeof request === "string") {
      this.#o.logger.warn({ problem: request }, "malformed AdmissionReview");
      return { answer: { status: 400, body: { message: request } }, result: "error", reason: "bad_request" };
    }
    const allow = (warnings: string[] = []): AdmissionReviewResponse => ({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: request.uid, allowed: true, ...(warnings.length > 0 ? { warnings: warnings.map(cut) } : {}) },
    });
    const deny = (code: number, reason: string, message: string): AdmissionReviewResponse => ({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: request.uid, allowed: false, status: { code, reason, message } },
    });

    const kind = request.kind;
    if (kind?.kind !== "Pod" || (kind.group ?? "") !== "" || kind.version !== "v1" || request.operation !== "CREATE") {
      return { answer: { status: 200, body: allow() }, result: "skipped", reason: "not_a_pod_create" };
    }
    const pod = request.object as V1Pod;
    const namespace = request.namespace || pod.metadata?.namespace || "";
    if (!this.#o.ready()) {
      const message =
        "mcp-warden is starting and has not loaded the McpPolicies yet; the pod is refused so that no MCP server runs unguarded. Retry in a few seconds.";
      return {
        answer: { status: 200, body: deny(503, "ServiceUnavailable", message) },
        result: "error",
        reason: "not_ready",
      };
    }

    let outcome: InjectionOutcome;
    try {
      // managedFields never change here; leaving them out keeps the diff cheap.
      const { managedFields: _ignored, ...metadata } = pod.metadata ?? {};
      outcome = decideInjection({ ...pod, metadata }, namespace, this.#o.index, this.#o.config);
    } catch (error) {
      this.#o.logger.error({ namespace, pod: podName(pod), err: error }, "injection failed");
      return {
        answer: {
          status: 200,
          body: deny(500, "InternalError", `mcp-warden could not decide on this pod: ${(error as Error).message}`),
        },
        result: "error",
        reason: "internal_error",
      };
    }

    this.#log(outcome, namespace, pod);
    if (!request.dryRun) this.#event(outcome, namespace, pod);
    if (outcome.result === "rejected") {
      return {
        answer: { status: 200, body: deny(403, "Forbidden", `mcp-warden: ${outcome.message}`) },
        result: outcome.result,
        reason: outcome.reason,
        policy: policyName(outcome),
      };
    }
    const response = allow(outcome.warnings.map((w) => `mcp-warden: ${w}`));
    if (outcome.patch.length > 0) {
      response.response.patchType = "JSONPatch";
      response.response.patch = Buffer.from(JSON.stringify(outcome.patch)).toString("base64");
    }
    return {
      answer: { status: 200, body: response },
      result: outcome.result,
      reason: outcome.reason,
      policy: policyName(outcome),
    };
  }

  #log(outcome: InjectionOutcome, namespace: string, pod: V1Pod): void {
    const fields = {
      namespace,
      pod: podName(pod),
      result: outcome.result,
      reason: outcome.reason,
      policy: outcome.policy?.name,
    };
    if (outcome.result === "rejected") this.#o.logger.info({ ...fields, message: outcome.message }, "pod rejected");
    else if (outcome.result === "injected" || outcome.warnings.length > 0)
      this.#o.logger.info({ ...fields, warnings: outcome.warnings }, "injection decision");
    else this.#o.logger.debug(fields, "injection decision");
  }

  /** Events go on the pod's controller (a new pod has no name yet when it is generated), else the pod. */
  #event(outcome: InjectionOutcome, namespace: string, pod: V1Pod): void {
    const events = this.#o.events;
    if (!events) return;
    const target = eventTarget(pod, namespace);
    if (!target) return;
    if (outcome.result === "injected") {
      events.record(
        target,
        "Normal",
        "Injected",
        outcome.message + (outcome.warnings.length ? `; warning: ${outcome.warnings.join("; ")}` : ""),
      );
    } else if (outcome.result === "rejected") {
      events.record(target, "Warning", "InjectionRejected", outcome.message);
    } else if (outcome.warnings.length > 0) {
      events.record(target, "Warning", "NotInjected", outcome.warnings.join("; "));
    }
  }
}

/** What the pod came to: inject (admitted with the sidecar), skip (admitted as it is), refuse, or error (a malformed review). */
function admissionDecision(answer: {
  answer: AdmissionAnswer;
  result: InjectionResult;
  reason: InjectionReason;
}): "inject" | "skip" | "refuse" | "error" {
  if (answer.answer.status !== 200) return "error";
  if (!answer.answer.body.response.allowed) return "refuse";
  return answer.result === "injected" ? "inject" : "skip";
}

function policyName(outcome: InjectionOutcome): string | undefined {
  return outcome.policy ? `${outcome.policy.namespace}/${outcome.policy.name}` : undefined;
}

/** The request's identity on its span: namespace, pod (or its generateName), operation; never the pod spec. */
function reviewAttributes(body: unknown): Record<string, string | boolean | undefined> {
  const request = (body as { request?: AdmissionRequest } | null)?.request;
  const pod = request?.object as V1Pod | undefined;
  return {
    "k8s.namespace.name": request?.namespace || pod?.metadata?.namespace,
    "k8s.pod.name": pod?.metadata ? podName(pod) : undefined,
    "mcp_warden.admission.uid": typeof request?.uid === "string" ? request.uid : undefined,
    "mcp_warden.admission.operation": typeof request?.operation === "string" ? request.operation : undefined,
    "mcp_warden.admission.dry_run": request?.dryRun === true ? true : undefined,
  };
}

function parseReview(body: unknown): AdmissionRequest | string {
  if (typeof body !== "object" || body === null) return "expected an AdmissionReview JSON object";
  const review = body as { apiVersion?: unknown; kind?: unknown; request?: unknown };
  if (review.apiVersion !== "admission.k8s.io/v1" || review.kind !== "AdmissionReview") {
    return `expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, got ${String(review.apiVersion)} ${String(review.kind)}`;
  }
  const request = review.request as AdmissionRequest | undefined;
  if (typeof request !== "object" || request === null || typeof request.uid !== "string" || request.uid === "")
    return "AdmissionReview has no request.uid";
  if (request.kind?.kind === "Pod" && request.operation === "CREATE") {
    const object = request.object as { spec?: { containers?: unknown } } | undefined;
    if (typeof object !== "object" || object === null || !Array.isArray(object.spec?.containers))
      return "AdmissionReview request.object is not a Pod";
  }
  return request;
}

export function eventTarget(pod: V1Pod, namespace: string): EventTarget | undefined {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
  if (owner) return { kind: owner.kind, apiVersion: owner.apiVersion, namespace, name: owner.name, uid: owner.uid };
  if (pod.metadata?.name)
    return { kind: "Pod", apiVersion: "v1", namespace, name: pod.metadata.name, uid: pod.metadata.uid };
  return undefined;
}

function podName(pod: V1Pod): string {
  return pod.metadata?.name || `${pod.metadata?.generateName ?? ""}*`;
}

function cut(text: string): string {
  return text.length > WARNING_LIMIT ? `${text.slice(0, WARNING_LIMIT - 1)}…` : text;
}
