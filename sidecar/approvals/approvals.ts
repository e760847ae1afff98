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
import type { ApprovalSettings, CompiledPolicy } from "../../policy/compile.ts";
import { sessionFingerprint } from "../sessions.ts";
import { approvalQuestion, type ElicitationBroker, type ElicitationReply, type ElicitationTarget } from "./elicitation.ts";
import { ApprovalsUnavailableError, bindingOf } from "./approval-object.ts";
import type { KubernetesApprovals } from "./kubernetes-approvals.ts";

/** Clock skew tolerated between the sidecar, other sidecars, approvers and the API server. */
const SKEW_MS = 60_000;

export interface ApprovalRequest {
  policy: CompiledPolicy;
  settings: ApprovalSettings;
  tool: string;
  args: Record<string, unknown>;
  grant: string;
  /** The MCP session id (raw; bound by fingerprint). */
  session: string | undefined;
  /** Wait for a decision (a call whose answer can be held), or only look up and request one. */
  hold: boolean;
  /** Present when the person at the client can be asked on this call's stream. */
  elicit?: { target: ElicitationTarget; send: (message: Record<string, unknown>) => Promise<void> } | undefined;
  signal: AbortSignal;
  /** Told the McpApproval the call is bound to, once there is one. */
  onApproval?: (name: string) => void;
}

export type ApprovalOutcome =
  | { kind: "approved"; via: "Kubernetes" | "Elicitation"; approval: McpApprovalObject | undefined; decidedBy: string }
  | { kind: "denied"; via: "Kubernetes" | "Elicitation"; approval: string | undefined; decidedBy: string; reason: string | undefined }
  | { kind: "expired"; approval: string }
  /** Another call used the approval this one waited on. */
  | { kind: "used"; approval: string }
  | { kind: "pending"; approval: string; waitedMs: number; held: boolean }
  | { kind: "unanswered"; waitedMs: number }
  | { kind: "unavailable"; why: string };

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
    if (approval.status?.decision !== "Approved") return approval.status?.decision === "Denied" ? "it was denied" : "it is not approved";
    const expiresAt = timeOf(approval.spec.expiresAt);
    const created = timeOf(approval.metadata.creationTimestamp);
    const decidedAt = timeOf(approval.status.decidedAt);
    if (!(expiresAt <= created + settings.timeoutMs + settings.ttlMs + SKEW_MS)) return "its expiry is later than the policy allows";
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
    const asking = (settings.via === "elicitation" || settings.via === "both") && request.hold && request.elicit !== undefined;
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
    if (!request.hold) return approval ? { kind: "pending", approval: approval.metadata.name, waitedMs: 0, held: false } : { kind: "unavailable", why: kubernetesProblem ?? "the call cannot wait" };
    return this.#wait(request, { binding, preview, approval, asking, startedAt: this.#o.clock.now() });
  }

  /**
   * The McpApproval a 2026-07-28 approval round trip is bound to (ADR 0708): an unused one for this
   * exact request (approved or pending), else a new one; a denied one ends the call.
   */
  async approvalForInput(request: ApprovalRequest): Promise<{ approval: McpApprovalObject } | { outcome: ApprovalOutcome } | { problem: string }> {
    const found = await this.#requestOnKubernetes(request, this.binding(request), () => argumentsPreview(request.args));
    if ("outcome" in found && found.outcome.kind === "approved" && found.outcome.approval) return { approval: found.outcome.approval };
    return found;
  }

  async #requestOnKubernetes(request: ApprovalRequest, binding: ApprovalBinding, preview: () => string): Promise<{ outcome: ApprovalOutcome } | { problem: string } | { approval: McpApprovalObject }> {
    const kubernetes = this.#o.kubernetes;
    if (!kubernetes) return { problem: "this sidecar reads its policy from a file, and Kubernetes approvals need --policy k8s://<namespace>/<name>" };
    if (request.policy.generation === undefined) return { problem: "the policy has no generation to bind an approval to" };
    try {
      await kubernetes.ready(request.signal);
    } catch (error) {
      if (!(error instanceof ApprovalsUnavailableError)) throw error;
      return { problem: "the Kubernetes API cannot be reached" };
    }
    const found = kubernetes.find(binding);
    const usable = found.find((a) => this.unusable(a, binding, request.settings) === undefined);
    if (usable) return { outcome: { kind: "approved", via: "Kubernetes", approval: usable, decidedBy: usable.status?.decidedBy ?? "" } };
    const now = this.#o.clock.now();
    const live = found.filter((a) => !a.spec.use && now < timeOf(a.spec.expiresAt));
    const denied = live.find((a) => a.status?.decision === "Denied");
    if (denied) return { outcome: this.#denied(denied) };
    const pending = live.find((a) => a.status?.decision === undefined);
    if (pending) {
      request.onApproval?.(pending.metadata.name);
      return { approval: pending };
    }
    try {
      const created = await kubernetes.create(binding, {
        args: preview(),
        waitUntil: new Date(now + request.settings.timeoutMs),
        expiresAt: new Date(now + request.settings.timeoutMs + request.settings.ttlMs),
      }, request.signal);
      this.#o.log.info({ approval: `${kubernetes.namespace}/${created.metadata.name}`, tool: request.tool, grant: request.grant }, "approval requested");
      request.onApproval?.(created.metadata.name);
      return { approval: created };
    } catch (error) {
      this.#o.log.warn({ err: (error as Error).message, tool: request.tool }, "cannot create an McpApproval");
      return { problem: `the McpApproval cannot be created: ${shortError(error)}` };
    }
  }

  #denied(approval: McpApprovalObject): ApprovalOutcome {
    return { kind: "denied", via: "Kubernetes", approval: `${approval.metadata.namespace ?? ""}/${approval.metadata.name}`, decidedBy: approval.status?.decidedBy ?? "an approver", reason: approval.status?.reason };
  }

  #wait(request: ApprovalRequest, w: { binding: ApprovalBinding; preview: () => string; approval: McpApprovalObject | undefined; asking: boolean; startedAt: number }): Promise<ApprovalOutcome> {
    const { clock } = this.#o;
    const kubernetes = this.#o.kubernetes;
    return new Promise<ApprovalOutcome>((resolve) => {
      const cleanup: Array<() => void> = [];
      const asked = new AbortController();
      let done = false;
      let approval = w.approval;
      const finish = (outcome: ApprovalOutcome) => {
        if (done) return;
        done = true;
        asked.abort(); // an unanswered question is withdrawn at the client
        for (const undo of cleanup) undo();
        resolve(outcome);
      };
      const pendingOrUnanswered = (waitedMs: number): ApprovalOutcome =>
        approval ? { kind: "pending", approval: approval.metadata.name, waitedMs, held: true } : { kind: "unanswered", waitedMs };

      const judge = (current: McpApprovalObject | undefined) => {
        if (done || !approval) return;
        if (!current) return finish({ kind: "denied", via: "Kubernetes", approval: `${kubernetes?.namespace ?? ""}/${approval.metadata.name}`, decidedBy: "someone", reason: "the approval was deleted before it was used" });
        approval = current;
        if (this.unusable(current, w.binding, request.settings) === undefined) return finish({ kind: "approved", via: "Kubernetes", approval: current, decidedBy: current.status?.decidedBy ?? "" });
        if (current.status?.decision === "Denied") return finish(this.#denied(current));
        if (current.spec.use) return finish({ kind: "used", approval: `${current.metadata.namespace ?? ""}/${current.metadata.name}` });
        if (!(clock.now() < timeOf(current.spec.expiresAt))) return finish({ kind: "expired", approval: `${current.metadata.namespace ?? ""}/${current.metadata.name}` });
      };
      const watchKubernetes = (target: McpApprovalObject) => {
        if (!kubernetes) return;
        cleanup.push(kubernetes.watch(target.metadata.name, judge));
        const untilExpiry = timeOf(target.spec.expiresAt) - clock.now();
        const timer = clock.schedule(Math.max(0, untilExpiry), () => judge(kubernetes.get(target.metadata.name)));
        cleanup.push(() => timer.cancel());
        judge(kubernetes.get(target.metadata.name) ?? target);
      };

      const deadline = clock.schedule(request.settings.timeoutMs, () => finish(pendingOrUnanswered(request.settings.timeoutMs)));
      cleanup.push(() => deadline.cancel());
      // Cancelled or shutting down: say how long it waited, in whole seconds.
      const onAbort = () => finish(pendingOrUnanswered(Math.max(1000, Math.round((clock.now() - w.startedAt) / 1000) * 1000)));
      if (request.signal.aborted) return onAbort();
      request.signal.addEventListener("abort", onAbort, { once: true });
      cleanup.push(() => request.signal.removeEventListener("abort", onAbort));

      if (approval) watchKubernetes(approval);
      if (done || !w.asking || !request.elicit) return;
      const { target, send } = request.elicit;
      const policyName = kubernetes ? `${kubernetes.namespace}/${kubernetes.policy}` : request.policy.name;
      void this.#o.broker.ask(target, approvalQuestion(request.tool, policyName, w.preview()), send, asked.signal).then(
        (reply) => this.#onReply(reply, request, { approval: () => approval, finish, fallBack: async () => {
          // The client cannot answer after all: Kubernetes approval, as for clients without elicitation.
          if (approval || done) return;
          const found = await this.#requestOnKubernetes(request, w.binding, w.preview);
          if (done) return;
          if ("outcome" in found) return finish(found.outcome);
          if ("problem" in found) return finish({ kind: "unavailable", why: `the client could not be asked, and ${found.problem}` });
          approval = found.approval;
          watchKubernetes(found.approval);
        } }),
        (error: unknown) => {
          this.#o.log.warn({ err: (error as Error).message }, "cannot ask the client for approval");
          if (!approval) finish({ kind: "unavailable", why: "the client cannot be asked" });
        },
      );
    });
  }

  #onReply(
    reply: ElicitationReply,
    request: ApprovalRequest,
    w: { approval: () => McpApprovalObject | undefined; finish: (o: ApprovalOutcome) => void; fallBack: () => Promise<void> },
  ): void {
    const who = `${request.grant} (at the client)`;
    switch (reply.action) {
      case "accept": {
        const reason = typeof reply.content.reason === "string" ? reply.content.reason.slice(0, 512) : undefined;
        if (reply.content.approve === true) return w.finish({ kind: "approved", via: "Elicitation", approval: w.approval(), decidedBy: who });
        return w.finish({ kind: "denied", via: "Elicitation", approval: undefined, decidedBy: who, reason: reason ?? "not approved at the client" });
      }
      case "decline":
        return w.finish({ kind: "denied", via: "Elicitation", approval: undefined, decidedBy: who, reason: "declined at the client" });
      case "cancel":
        // Dismissed without a decision: with `both`, Kubernetes may still decide.
        if (request.settings.via === "both" && w.approval()) return;
        return w.finish({ kind: "denied", via: "Elicitation", approval: undefined, decidedBy: who, reason: "dismissed at the client without approving" });
      case "error":
        this.#o.log.info({ err: reply.message, tool: request.tool }, "the client could not show the approval question; falling back to Kubernetes approval");
        void w.fallBack().catch((error: unknown) => w.finish({ kind: "unavailable", why: shortError(error) }));
    }
  }
}

function shortError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
