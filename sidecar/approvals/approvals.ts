// How one tool call that an approve rule holds back gets its decision. With Kubernetes, the call is
// bound to an McpApproval: an approved, unused one within its ttl lets it through (the retry case); a
// denied one refuses it; a pending one is waited on; otherwise a new one is created. With elicitation
// (a client that declared the capability, on a stream the sidecar can write to), the person at the
// client is asked. `both` does both and the first decision wins. Every approval read from the API is
// checked against the request again (binding, use, decision, ttl, expiry, and that its times are no
// later than the policy allows), so a forged or edited one unlocks nothing.
import type { Logger } from "pino";
import type { Clock } from "../../kube/clock.ts";
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import { argumentsDigest, bindingMismatches, type ApprovalBinding } from "../../policy/approval/binding.ts";
import { argumentsPreview } from "../../policy/approval/preview.ts";
import { timeOf } from "../../policy/approval/state.ts";
import type { ApprovalSettings } from "../../policy/compile.ts";
import { sessionFingerprint } from "../sessions.ts";
import { approvalQuestion, type ElicitationBroker } from "./elicitation.ts";
import { ApprovalsUnavailableError, bindingOf } from "./approval-object.ts";
import {
  deniedOnKubernetes,
  shortError,
  type ApprovalOutcome,
  type ApprovalRequest,
  type KubernetesLookup,
} from "./approval-request.ts";
import { ApprovalWait } from "./approval-wait.ts";
import type { KubernetesApprovals } from "./kubernetes-approvals.ts";

/** Clock skew tolerated between the sidecar, other sidecars, approvers and the API server. */
const SKEW_MS = 60_000;

export type { ApprovalOutcome, ApprovalRequest } from "./approval-request.ts";

export interface ApprovalsOptions {
  /** Undefined when the sidecar has no Kubernetes API to keep approvals in (a file policy). */
  kubernetes: KubernetesApprovals | undefined;
  broker: ElicitationBroker;
  clock: Clock;
  log: Logger;
}

export class Approvals {
  readonly #o: ApprovalsOptions;

  constructor(options: ApprovalsOptions) {
    this.#o = options;
  }

  get namespace(): string | undefined {
    return this.#o.kubernetes?.namespace;
  }

  get kubernetes(): KubernetesApprovals | undefined {
    return this.#o.kubernetes;
  }

  /** Why an approval read from the API cannot let this request through now; undefined when it can. */
  unusable(approval: McpApprovalObject, binding: ApprovalBinding, settings: ApprovalSettings): string | undefined {
    const now = this.#o.clock.now();
    const mismatched = bindingMismatches(binding, bindingOf(approval));
    if (mismatched.length > 0) return `it is bound to another request (${mismatched.join(", ")})`;
    if (approval.metadata.deletionTimestamp) return "it is being deleted";
    if (approval.spec.use) return `it was already used by ${approval.spec.use.by}`;
    if (approval.status?.decision !== "Approved")
      return approval.status?.decision === "Denied" ? "it was denied" : "it is not approved";
    const expiresAt = timeOf(approval.spec.expiresAt);
    const created = timeOf(approval.metadata.creationTimestamp);
    const decidedAt = timeOf(approval.status.decidedAt);
    if (!(expiresAt <= created + settings.timeoutMs + settings.ttlMs + SKEW_MS))
      return "its expiry is later than the policy allows";
    if (!(decidedAt <= now + SKEW_MS) || !(decidedAt >= created - SKEW_MS)) return "its decision time is not credible";
    if (!(now < expiresAt)) return "it expired";
    if (!(now < decidedAt + settings.ttlMs)) return "it was approved longer ago than the policy's ttl";
    return undefined;
  }

  /** Why a pending approval cannot record a use decided at the client (`both`); undefined when it can. */
  unusableAfterElicitation(approval: McpApprovalObject, binding: ApprovalBinding): string | undefined {
    const mismatched = bindingMismatches(binding, bindingOf(approval));
    if (mismatched.length > 0) return `it is bound to another request (${mismatched.join(", ")})`;
    if (approval.metadata.deletionTimestamp) return "it is being deleted";
    if (approval.spec.use) return `it was already used by ${approval.spec.use.by}`;
    if (approval.status?.decision === "Denied") return "it was denied on Kubernetes first";
    if (!(this.#o.clock.now() < timeOf(approval.spec.expiresAt))) return "it expired";
    return undefined;
  }

  binding(request: Pick<ApprovalRequest, "policy" | "tool" | "args" | "grant" | "session">): ApprovalBinding {
    return {
      policy: this.#o.kubernetes?.policy ?? request.policy.name,
      policyGeneration: request.policy.generation ?? 0,
      tool: request.tool,
      caller: request.grant,
      session: sessionFingerprint(request.session),
      argsDigest: argumentsDigest(request.args),
    };
  }

  async decide(request: ApprovalRequest): Promise<ApprovalOutcome> {
    const { settings } = request;
    const asking =
      (settings.via === "elicitation" || settings.via === "both") && request.hold && request.elicit !== undefined;
    const needKubernetes = settings.via !== "elicitation" || !asking;
    const binding = this.binding(request);
    // Only needed to request an approval or ask at the client (not for a retry that has one).
    let previewText: string | undefined;
    const preview = () => (previewText ??= argumentsPreview(request.args));

    let approval: McpApprovalObject | undefined;
    let kubernetesProblem: string | undefined;
    if (needKubernetes) {
      const found = await this.#requestOnKubernetes(request, binding, preview);
      if ("outcome" in found) return found.outcome;
      if ("problem" in found) {
        if (!asking) return { kind: "unavailable", why: found.problem };
        kubernetesProblem = found.problem;
      } else {
        approval = found.approval;
      }
    }
    if (!request.hold)
      return approval
        ? { kind: "pending", approval: approval.metadata.name, waitedMs: 0, held: false }
        : { kind: "unavailable", why: kubernetesProblem ?? "the call cannot wait" };
    return this.#wait(request, { binding, preview, approval, asking, startedAt: this.#o.clock.now() });
  }

  /**
   * The McpApproval a 2026-07-28 approval round trip is bound to (ADR 0708): an unused one for this
   * exact request (approved or pending), else a new one; a denied one ends the call.
   */
  async approvalForInput(
    request: ApprovalRequest,
  ): Promise<{ approval: McpApprovalObject } | { outcome: ApprovalOutcome } | { problem: string }> {
    const found = await this.#requestOnKubernetes(request, this.binding(request), () => argumentsPreview(request.args));
    if ("outcome" in found && found.outcome.kind === "approved" && found.outcome.approval)
      return { approval: found.outcome.approval };
    return found;
  }

  async #requestOnKubernetes(
    request: ApprovalRequest,
    binding: ApprovalBinding,
    preview: () => string,
  ): Promise<KubernetesLookup> {
    const kubernetes = this.#o.kubernetes;
    if (!kubernetes)
      return {
        problem:
          "this sidecar reads its policy from a file, and Kubernetes approvals need --policy k8s://<namespace>/<name>",
      };
    if (request.policy.generation === undefined)
      return { problem: "the policy has no generation to bind an approval to" };
    try {
      await kubernetes.ready(request.signal);
    } catch (error) {
      if (!(error instanceof ApprovalsUnavailableError)) throw error;
      return { problem: "the Kubernetes API cannot be reached" };
    }
    const found = kubernetes.find(binding);
    const usable = found.find((a) => this.unusable(a, binding, request.settings) === undefined);
    if (usable)
      return {
        outcome: { kind: "approved", via: "Kubernetes", approval: usable, decidedBy: usable.status?.decidedBy ?? "" },
      };
    const now = this.#o.clock.now();
    const live = found.filter((a) => !a.spec.use && now < timeOf(a.spec.expiresAt));
    const denied = live.find((a) => a.status?.decision === "Denied");
    if (denied) return { outcome: deniedOnKubernetes(denied) };
    const pending = live.find((a) => a.status?.decision === undefined);
    if (pending) {
      request.onApproval?.(pending.metadata.name);
      return { approval: pending };
    }
    try {
      const created = await kubernetes.create(
        binding,
        {
          args: preview(),
          waitUntil: new Date(now + request.settings.timeoutMs),
          expiresAt: new Date(now + request.settings.timeoutMs + request.settings.ttlMs),
        },
        request.signal,
      );
      this.#o.log.info(
        { approval: `${kubernetes.namespace}/${created.metadata.name}`, tool: request.tool, grant: request.grant },
        "approval requested",
      );
      request.onApproval?.(created.metadata.name);
      return { approval: created };
    } catch (error) {
      this.#o.log.warn({ err: (error as Error).message, tool: request.tool }, "cannot create an McpApproval");
      return { problem: `the McpApproval cannot be created: ${shortError(error)}` };
    }
  }

  /** Waits for the decision: on the McpApproval, the person at the client, or both (ADR 0920). */
  #wait(
    request: ApprovalRequest,
    w: {
      binding: ApprovalBinding;
      preview: () => string;
      approval: McpApprovalObject | undefined;
      asking: boolean;
      startedAt: number;
    },
  ): Promise<ApprovalOutcome> {
    const kubernetes = this.#o.kubernetes;
    const elicit = w.asking ? request.elicit : undefined;
    const policyName = kubernetes ? `${kubernetes.namespace}/${kubernetes.policy}` : request.policy.name;
    const wait = new ApprovalWait({
      clock: this.#o.clock,
      log: this.#o.log,
      kubernetes,
      settings: request.settings,
      tool: request.tool,
      grant: request.grant,
      signal: request.signal,
      startedAt: w.startedAt,
      approval: w.approval,
      ask:
        elicit &&
        ((withdrawn) =>
          this.#o.broker.ask(
            elicit.target,
            approvalQuestion(request.tool, policyName, w.preview()),
            elicit.send,
            withdrawn,
          )),
      unusable: (approval) => this.unusable(approval, w.binding, request.settings),
      fallBack: () => this.#requestOnKubernetes(request, w.binding, w.preview),
    });
    return wait.start();
  }
}
