// The wait for the decision on one held tool call, as a state machine (ADR 0920). Its states say what
// the call is waiting on: the person at the client (asking), an McpApproval (watching), both, or the
// McpApproval being requested after the client could not show the question (falling back). Each event
// (the McpApproval changed, the rule's deadline passed, the call was aborted, the client replied, the
// client could not be asked, the fallback found something) has one method; an event that does not
// apply to the current state is ignored, so whichever decisive event comes first wins and later ones
// (a reply after the deadline, a fallback that ends after an abort) change nothing.
import type { Logger } from "pino";
import type { Clock } from "../../kube/clock.ts";
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import { timeOf } from "../../policy/approval/state.ts";
import type { ApprovalSettings } from "../../policy/compile.ts";
import { deniedOnKubernetes, shortError, type ApprovalOutcome, type KubernetesLookup } from "./approval-request.ts";
import type { ElicitationReply } from "./elicitation.ts";
import type { KubernetesApprovals } from "./kubernetes-approvals.ts";

export type ApprovalWaitState =
  /** The question is at the client; there is no McpApproval. */
  | { name: "asking" }
  /** The question is at the client and an McpApproval is pending (`both`): the first decision wins. */
  | { name: "asking-and-watching"; approval: McpApprovalObject }
  /** An McpApproval is pending; nobody is asked at the client (any more). */
  | { name: "watching"; approval: McpApprovalObject }
  /** The client could not show the question: the McpApproval is being looked up or requested. */
  | { name: "falling-back" }
  | { name: "decided"; outcome: ApprovalOutcome };

/** What the wait reads of the McpApprovals: the informer's cache and its change notifications. */
export type ApprovalCache = Pick<KubernetesApprovals, "namespace" | "get" | "watch">;

export interface ApprovalWaitOptions {
  clock: Clock;
  log: Logger;
  /** Undefined without a Kubernetes API: then only the person at the client can decide. */
  kubernetes: ApprovalCache | undefined;
  settings: ApprovalSettings;
  tool: string;
  grant: string;
  /** Aborts when the call is cancelled or the sidecar shuts down. */
  signal: AbortSignal;
  startedAt: number;
  /** The McpApproval to wait on, when one was found or requested before the wait. */
  approval: McpApprovalObject | undefined;
  /** Asks the person at the client; `withdrawn` aborts once the call is decided. Undefined: nobody is asked. */
  ask: ((withdrawn: AbortSignal) => Promise<ElicitationReply>) | undefined;
  /** Why an McpApproval cannot let this call through now; undefined when it can. */
  unusable: (approval: McpApprovalObject) => string | undefined;
  /** Looks up or requests the McpApproval, for when the client cannot answer after all. */
  fallBack: () => Promise<KubernetesLookup>;
}

export class ApprovalWait {
  readonly #o: ApprovalWaitOptions;
  #state: ApprovalWaitState;
  /** Aborted once decided: an unanswered question is withdrawn at the client. */
  readonly #withdrawn = new AbortController();
  /** Timers and listeners to undo once decided. */
  readonly #cleanup: Array<() => void> = [];
  readonly #resolve: (outcome: ApprovalOutcome) => void;
  /** Resolves with the decision, once there is one. */
  readonly outcome: Promise<ApprovalOutcome>;

  constructor(options: ApprovalWaitOptions) {
    this.#o = options;
    const { approval, ask } = options;
    // Without an McpApproval the wait is for the client's answer (decide() starts no wait with neither).
    this.#state = approval
      ? ask
        ? { name: "asking-and-watching", approval }
        : { name: "watching", approval }
      : { name: "asking" };
    let resolve: (outcome: ApprovalOutcome) => void = () => undefined;
    this.outcome = new Promise<ApprovalOutcome>((r) => (resolve = r));
    this.#resolve = resolve;
  }

  get state(): ApprovalWaitState {
    return this.#state;
  }

  /** Arms the deadline and the abort, follows the McpApproval, then asks the question; resolves with the decision. */
  start(): Promise<ApprovalOutcome> {
    const { clock, signal, settings } = this.#o;
    const deadline = clock.schedule(settings.timeoutMs, () => this.deadlinePassed());
    this.#cleanup.push(() => deadline.cancel());
    if (signal.aborted) {
      this.aborted();
      return this.outcome;
    }
    const onAbort = () => this.aborted();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#cleanup.push(() => signal.removeEventListener("abort", onAbort));
    const state = this.#state;
    if (state.name === "watching" || state.name === "asking-and-watching") this.#follow(state.approval);
    if (this.#state.name === "asking" || this.#state.name === "asking-and-watching") this.#ask();
    return this.outcome;
  }

  /** A new version of the McpApproval waited on (undefined once deleted), or the one in the cache at its expiry. */
  approvalChanged(current: McpApprovalObject | undefined): void {
    const state = this.#state;
    if (state.name !== "watching" && state.name !== "asking-and-watching") return;
    if (!current) {
      const name = `${this.#o.kubernetes?.namespace ?? ""}/${state.approval.metadata.name}`;
      return this.#decide({
        kind: "denied",
        via: "Kubernetes",
        approval: name,
        decidedBy: "someone",
        reason: "the approval was deleted before it was used",
      });
    }
    const decided = this.#judge(current);
    if (decided) return this.#decide(decided);
    this.#state = { ...state, approval: current };
  }

  /** The rule's timeout passed without a decision. */
  deadlinePassed(): void {
    if (this.#state.name === "decided") return;
    this.#decide(this.#undecided(this.#o.settings.timeoutMs));
  }

  /** The call was cancelled or the sidecar is shutting down: say how long it waited, in whole seconds. */
  aborted(): void {
    if (this.#state.name === "decided") return;
    this.#decide(this.#undecided(Math.max(1000, Math.round((this.#o.clock.now() - this.#o.startedAt) / 1000) * 1000)));
  }

  /** The person at the client answered the question. */
  clientReplied(reply: ElicitationReply): void {
    const state = this.#state;
    if (state.name !== "asking" && state.name !== "asking-and-watching") return;
    const approval = state.name === "asking-and-watching" ? state.approval : undefined;
    const who = `${this.#o.grant} (at the client)`;
    const refused = (reason: string): ApprovalOutcome => ({
      kind: "denied",
      via: "Elicitation",
      approval: undefined,
      decidedBy: who,
      reason,
    });
    switch (reply.action) {
      case "accept": {
        if (reply.content.approve === true)
          return this.#decide({ kind: "approved", via: "Elicitation", approval, decidedBy: who });
        const reason = typeof reply.content.reason === "string" ? reply.content.reason.slice(0, 512) : undefined;
        return this.#decide(refused(reason ?? "not approved at the client"));
      }
      case "decline":
        return this.#decide(refused("declined at the client"));
      case "cancel":
        // Dismissed without a decision: with `both`, Kubernetes may still decide.
        if (this.#o.settings.via === "both" && approval) return void (this.#state = { name: "watching", approval });
        return this.#decide(refused("dismissed at the client without approving"));
      case "error":
        this.#o.log.info(
          { err: reply.message, tool: this.#o.tool },
          "the client could not show the approval question; falling back to Kubernetes approval",
        );
        // The client cannot answer after all: Kubernetes approval, as for clients without elicitation.
        if (approval) return void (this.#state = { name: "watching", approval });
        return this.#fallBack();
    }
  }

  /** The question could not be sent to the client. */
  clientUnreachable(error: unknown): void {
    this.#o.log.warn({ err: (error as Error).message }, "cannot ask the client for approval");
    const state = this.#state;
    if (state.name === "asking-and-watching") this.#state = { name: "watching", approval: state.approval };
    else if (state.name === "asking") this.#decide({ kind: "unavailable", why: "the client cannot be asked" });
  }

  /** The fallback looked up or requested the McpApproval. */
  fellBack(found: KubernetesLookup): void {
    if (this.#state.name !== "falling-back") return;
    if ("outcome" in found) return this.#decide(found.outcome);
    if ("problem" in found)
      return this.#decide({ kind: "unavailable", why: `the client could not be asked, and ${found.problem}` });
    this.#state = { name: "watching", approval: found.approval };
    this.#follow(found.approval);
  }

  /** The fallback failed. */
  fallbackFailed(error: unknown): void {
    if (this.#state.name !== "falling-back") return;
    this.#decide({ kind: "unavailable", why: shortError(error) });
  }

  #ask(): void {
    const ask = this.#o.ask;
    if (!ask) return;
    void ask(this.#withdrawn.signal).then(
      (reply) => this.clientReplied(reply),
      (error: unknown) => this.clientUnreachable(error),
    );
  }

  #fallBack(): void {
    this.#state = { name: "falling-back" };
    void this.#o
      .fallBack()
      .then((found) => this.fellBack(found))
      .catch((error: unknown) => this.fallbackFailed(error));
  }

  /** Follows the McpApproval: its changes, its expiry, and the version in the cache now. */
  #follow(target: McpApprovalObject): void {
    const { kubernetes, clock } = this.#o;
    if (!kubernetes) return;
    const name = target.metadata.name;
    this.#cleanup.push(kubernetes.watch(name, (current) => this.approvalChanged(current)));
    const expiry = clock.schedule(Math.max(0, timeOf(target.spec.expiresAt) - clock.now()), () =>
      this.approvalChanged(kubernetes.get(name)),
    );
    this.#cleanup.push(() => expiry.cancel());
    this.approvalChanged(kubernetes.get(name) ?? target);
  }

  /** The decision a version of the McpApproval makes; undefined while it is still pending. */
  #judge(current: McpApprovalObject): ApprovalOutcome | undefined {
    if (this.#o.unusable(current) === undefined)
      return { kind: "approved", via: "Kubernetes", approval: current, decidedBy: current.status?.decidedBy ?? "" };
    if (current.status?.decision === "Denied") return deniedOnKubernetes(current);
    const name = `${current.metadata.namespace ?? ""}/${current.metadata.name}`;
    if (current.spec.use) return { kind: "used", approval: name };
    if (!(this.#o.clock.now() < timeOf(current.spec.expiresAt))) return { kind: "expired", approval: name };
    return undefined;
  }

  /** No decision: pending on the McpApproval when there is one, else unanswered at the client. */
  #undecided(waitedMs: number): ApprovalOutcome {
    const state = this.#state;
    if (state.name === "watching" || state.name === "asking-and-watching")
      return { kind: "pending", approval: state.approval.metadata.name, waitedMs, held: true };
    return { kind: "unanswered", waitedMs };
  }

  #decide(outcome: ApprovalOutcome): void {
    if (this.#state.name === "decided") return;
    this.#state = { name: "decided", outcome };
    this.#withdrawn.abort();
    for (const undo of this.#cleanup) undo();
    this.#resolve(outcome);
  }
}
