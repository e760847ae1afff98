// The operator's part in approvals, on the replica holding the Lease: it watches every McpApproval,
// emits Events as approvals are requested, decided, used, left undecided past the agent's wait, and
// expire; deletes them once expired (uid and resourceVersion preconditions, so one that changed at
// the last moment is looked at again); and exports mcp_warden_approvals_total{outcome} and
// mcp_warden_approvals_pending. Transitions are counted only as they are seen happening, never from
// the first list, so a new leader does not count again what its predecessor counted; `expired` is
// counted by the replica whose delete succeeds, so it is counted once.
import type { Clock, TimerHandle } from "../../kube/clock.ts";
import { describeApiError, isConflict, isNotFound } from "../../kube/api-errors.ts";
import type { EventRecorder, EventType } from "../../kube/event-recorder.ts";
import type { KubeHttp } from "../../kube/http.ts";
import { Informer, type KubeObject } from "../../kube/informer.ts";
import type { Logger } from "../../kube/logger.ts";
import { approvalsPath, McpApprovalClient, parseApproval, type McpApprovalObject } from "../../kube/mcp-approvals.ts";
import { APPROVAL_API_VERSION, APPROVAL_KIND } from "../../policy/approval/schema.ts";
import { approveCommand } from "../../policy/approval/state.ts";
import type { OperatorMetrics } from "../metrics.ts";
import { expiresUnused, isPending, transitions } from "./transitions.ts";

export interface ApprovalControllerOptions {
  http: KubeHttp;
  clock: Clock;
  logger: Logger;
  metrics: OperatorMetrics;
  events: EventRecorder | undefined;
  informerOptions?: { relistIntervalMs?: number; watchdogMs?: number };
}

interface Tracked {
  approval: McpApprovalObject;
  timers: TimerHandle[];
  /** The end of the agent's wait was counted (or, found by the first list, was its predecessor's to count). */
  waitCounted: boolean;
}

const RETRY_DELETE_MS = 5_000;

export class ApprovalController {
  readonly #o: ApprovalControllerOptions;
  readonly #client: McpApprovalClient;
  readonly #tracked = new Map<string, Tracked>();
  #live = false;
  #stopped = false;

  constructor(options: ApprovalControllerOptions) {
    this.#o = options;
    this.#client = new McpApprovalClient(options.http);
  }

  /** True once the first list is in: from then on each change is counted and reported as it happens. */
  get live(): boolean {
    return this.#live;
  }

  /** Runs until `signal` aborts (leadership lost or shutdown). */
  async run(signal: AbortSignal): Promise<void> {
    const { http, clock, logger } = this.#o;
    this.#stopped = false;
    this.#live = false;
    const informer = new Informer({ http, path: approvalsPath(undefined), clock, logger, ...this.#o.informerOptions });
    informer
      .on("add", (o) => this.#seen(o))
      .on("update", (o) => this.#seen(o))
      .on("delete", (o) => this.#gone(o));
    informer.start();
    try {
      await informer.waitForSync(signal);
      if (signal.aborted) return;
      this.#live = true; // from here on, changes are counted as they happen
      this.#updateGauge();
      logger.info({ approvals: this.#tracked.size }, "approval controller running");
      await new Promise<void>((resolve) =>
        signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true }),
      );
    } finally {
      this.#stopped = true;
      await informer.stop();
      for (const t of this.#tracked.values()) for (const timer of t.timers) timer.cancel();
      this.#tracked.clear();
      this.#o.metrics.approvalsPending.set(0);
    }
  }

  #seen(object: KubeObject): void {
    const parsed = parseApproval(object);
    const key = keyOf(object);
    if (!parsed.ok) {
      this.#o.logger.warn({ approval: key, problem: parsed.problem }, "ignoring an McpApproval that does not validate");
      return;
    }
    const approval = parsed.approval;
    const previous = this.#tracked.get(key);
    for (const timer of previous?.timers ?? []) timer.cancel();
    const waitOver = Date.parse(approval.spec.waitUntil) <= this.#o.clock.now();
    const tracked: Tracked = { approval, timers: [], waitCounted: previous?.waitCounted ?? (!this.#live && waitOver) };
    this.#tracked.set(key, tracked);
    if (this.#live) {
      if (!previous) {
        this.#event(
          approval,
          "Normal",
          "Requested",
          `${approval.spec.caller} asks to call ${approval.spec.tool} with ${approval.spec.args}. To approve: ${approveCommand(approval.metadata.namespace ?? "", approval.metadata.name)}`,
        );
      }
      for (const t of transitions(previous?.approval, approval)) {
        this.#o.metrics.approvals.inc({ outcome: t.outcome });
        this.#event(approval, t.outcome === "denied" ? "Warning" : "Normal", t.reason, t.message);
        if (t.outcome !== "used") this.#observeDecision(approval);
      }
    }
    this.#schedule(key, tracked);
    this.#updateGauge();
  }

  #gone(object: KubeObject): void {
    const key = keyOf(object);
    for (const timer of this.#tracked.get(key)?.timers ?? []) timer.cancel();
    this.#tracked.delete(key);
    this.#updateGauge();
  }

  /** Timers for the end of the agent's wait and for expiry. */
  #schedule(key: string, tracked: Tracked): void {
    const { clock } = this.#o;
    const { approval } = tracked;
    const now = clock.now();
    const waitUntil = Date.parse(approval.spec.waitUntil);
    const undecided = () => approval.status?.decision === undefined && !approval.spec.use;
    if (undecided() && !tracked.waitCounted && Number.isFinite(waitUntil)) {
      tracked.timers.push(
        clock.schedule(waitUntil - now, () => {
          if (this.#stopped || this.#tracked.get(key) !== tracked || !undecided() || tracked.waitCounted) return;
          tracked.waitCounted = true;
          this.#o.metrics.approvals.inc({ outcome: "timed_out" });
          this.#event(
            approval,
            "Normal",
            "WaitTimedOut",
            `No decision within the agent's wait; it can still be approved until ${approval.spec.expiresAt}, for a retry of the same call`,
          );
          this.#updateGauge();
        }),
      );
    }
    const expiresAt = Date.parse(approval.spec.expiresAt);
    tracked.timers.push(
      clock.schedule(Number.isFinite(expiresAt) ? expiresAt - now : 0, () => void this.#expire(key, tracked)),
    );
  }

  async #expire(key: string, tracked: Tracked): Promise<void> {
    if (this.#stopped || this.#tracked.get(key) !== tracked) return;
    const { approval } = tracked;
    try {
      await this.#client.delete(approval);
    } catch (error) {
      if (isNotFound(error)) return; // someone else deleted it
      if (!isConflict(error))
        this.#o.logger.warn(
          { approval: key, error: describeApiError(error) },
          "cannot delete an expired McpApproval; retrying",
        );
      // A newer version (e.g. a last-moment use) arrives through the watch and reschedules this;
      // meanwhile, try again later.
      tracked.timers.push(this.#o.clock.schedule(RETRY_DELETE_MS, () => void this.#expire(key, tracked)));
      return;
    }
    if (expiresUnused(approval)) {
      this.#o.metrics.approvals.inc({ outcome: "expired" });
      const what = approval.status?.decision === "Approved" ? "approved but never used" : "never decided";
      this.#event(approval, "Normal", "Expired", `Expired at ${approval.spec.expiresAt}, ${what}; deleted`);
    }
    this.#o.logger.info({ approval: key }, "deleted an expired McpApproval");
  }

  #observeDecision(approval: McpApprovalObject): void {
    const requested = Date.parse(approval.metadata.creationTimestamp ?? "");
    const decided = Date.parse(approval.status?.decidedAt ?? "");
    if (Number.isFinite(requested) && Number.isFinite(decided) && decided >= requested) {
      this.#o.metrics.approvalDecisionDuration.observe(
        { decision: approval.status?.decision === "Approved" ? "approved" : "denied" },
        (decided - requested) / 1000,
      );
    }
  }

  #updateGauge(): void {
    if (!this.#live) return;
    const now = this.#o.clock.now();
    let pending = 0;
    for (const { approval } of this.#tracked.values()) if (isPending(approval, now)) pending++;
    this.#o.metrics.approvalsPending.set(pending);
  }

  #event(approval: McpApprovalObject, type: EventType, reason: string, message: string): void {
    this.#o.events?.record(
      {
        kind: APPROVAL_KIND,
        apiVersion: APPROVAL_API_VERSION,
        namespace: approval.metadata.namespace ?? "",
        name: approval.metadata.name,
        uid: approval.metadata.uid,
      },
      type,
      reason,
      message,
    );
  }
}

function keyOf(object: KubeObject | McpApprovalObject): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}
