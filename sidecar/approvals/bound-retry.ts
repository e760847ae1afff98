// The retry of a 2026-07-28 approval round trip bound to an McpApproval (ADR 0708). Its state was
// checked already (signature, caller, tool, arguments, expiry); here the McpApproval it names decides:
// approved with kubectl → the retry runs; denied → refused; pending → the client's answer in
// inputResponses decides (via elicitation|both), or the retry waits a while for a person's decision
// (via kubernetes|both) and is asked to retry again. Whoever lets the call through first records the
// approval's one use on the object (resourceVersion precondition), so the same state replayed on any
// replica finds it used and is refused, whatever the rate-limit store.
import type { McpApprovalObject } from "../../kube/mcp-approvals.ts";
import { bindingMismatches } from "../../policy/approval/binding.ts";
import type { ApprovalUseType } from "../../policy/approval/schema.ts";
import type { ApprovalRecord, DecidedCall, Verdict } from "../tool-call.ts";
import { bindingOf } from "./approval-object.ts";
import type { CallApprovalDeps } from "./call-approval-deps.ts";
import type { InputApprovalStep } from "./input-approval-step.ts";
import type { KubernetesApprovals } from "./kubernetes-approvals.ts";
import * as text from "./messages.ts";

/**
 * How long one retry waits for a person's decision before it is asked to retry again. Under the
 * SDKs' 60 s request timeout; the v2 client's ten rounds then cover about five minutes.
 */
export const RETRY_WAIT_MS = 25_000;

export interface BoundRoundTrip {
  call: DecidedCall;
  /** The McpApproval's name, from the verified state. */
  approval: string;
  /** The verified state, for an answer that asks for another retry. */
  state: string;
  /** The client's answer to the approval question, when the retry carries one. */
  reply: { approved: boolean; refusal: Omit<Verdict, "rule"> } | undefined;
}

/** Decides the retry from the McpApproval its state names; `signal` aborts when the client goes away. */
export async function decideBoundRetry(
  deps: CallApprovalDeps,
  r: BoundRoundTrip,
  signal: AbortSignal,
): Promise<InputApprovalStep> {
  const kubernetes = deps.approvalRuntime.approvals.kubernetes as KubernetesApprovals;
  let approval: McpApprovalObject | undefined;
  try {
    await kubernetes.ready(signal);
    approval = await kubernetes.read(r.approval, signal);
  } catch (error) {
    return refuse(r, {
      decision: "approval_required",
      reason: "approval_unavailable",
      message: text.unavailableMessage({
        tool: r.call.request.tool,
        why: `the McpApproval cannot be read: ${(error as Error).message.slice(0, 200)}`,
      }),
    });
  }
  let waited = false;
  for (;;) {
    const step = judge(deps, r, kubernetes, approval, waited);
    if (step.kind === "done") return await step.run();
    waited = true;
    approval = await changeOf(deps, kubernetes, step.approval, signal);
    if (signal.aborted) return { kind: "gone" };
  }
}

type Step =
  | { kind: "done"; run: () => Promise<InputApprovalStep> | InputApprovalStep }
  | { kind: "wait"; approval: McpApprovalObject };

function refuse(r: BoundRoundTrip, verdict: Omit<Verdict, "rule">, record?: ApprovalRecord): InputApprovalStep {
  return { kind: "refuse", verdict: { ...verdict, rule: r.call.verdict.rule }, ...(record ? { record } : {}) };
}

function judge(
  deps: CallApprovalDeps,
  r: BoundRoundTrip,
  kubernetes: KubernetesApprovals,
  approval: McpApprovalObject | undefined,
  waited: boolean,
): Step {
  const { approvals, clock } = deps.approvalRuntime;
  const tool = r.call.request.tool;
  const name = `${kubernetes.namespace}/${r.approval}`;
  const done = (run: () => Promise<InputApprovalStep> | InputApprovalStep): Step => ({ kind: "done", run });
  const refused = (problem: string, record?: ApprovalRecord) =>
    done(() =>
      refuse(
        r,
        {
          decision: "denied",
          reason: "approval_denied",
          message: `The approval state of this call is refused: ${problem}. Call '${tool}' again without requestState to be asked anew.`,
        },
        record ?? { name },
      ),
    );
  if (!approval) return refused(`its approval ${name} no longer exists`);
  const binding = approvals.binding({
    policy: r.call.policy!,
    tool,
    args: r.call.request.args,
    grant: r.call.context.caller.grant,
    session: r.call.context.session,
  });
  const mismatched = bindingMismatches(binding, bindingOf(approval));
  if (mismatched.length > 0)
    return refused(`its approval ${name} is bound to another request (${mismatched.join(", ")})`);
  if (approval.spec.use)
    return refused(`it has already been used (approval ${name} was used by ${approval.spec.use.by})`);
  if (approval.status?.decision === "Denied") {
    const by = approval.status.decidedBy ?? "an approver";
    return done(() =>
      refuse(
        r,
        {
          decision: "denied",
          reason: "approval_denied",
          message: text.deniedMessage({ tool, approval: name, by, reason: approval.status?.reason }),
        },
        { name, via: "Kubernetes", decidedBy: by },
      ),
    );
  }
  const settings = r.call.awaitingApproval!.plan.approval!;
  if (approval.status?.decision === "Approved") {
    const problem = approvals.unusable(approval, binding, settings);
    if (problem !== undefined) return refused(`its approval ${name} cannot be used: ${problem}`);
    return done(() => use(deps, r, kubernetes, approval, "Kubernetes", approval.status?.decidedBy ?? ""));
  }
  const now = clock.now();
  if (!(now < Date.parse(approval.spec.expiresAt))) {
    return done(() =>
      refuse(
        r,
        { decision: "denied", reason: "approval_expired", message: text.expiredMessage({ tool, approval: name }) },
        { name },
      ),
    );
  }
  // Pending on Kubernetes: the person at the client decides, when asked and answering.
  if (settings.via !== "kubernetes" && r.reply) {
    const reply = r.reply;
    if (!reply.approved)
      return done(() =>
        refuse(r, reply.refusal, {
          name,
          via: "Elicitation",
          decidedBy: `${r.call.context.caller.grant} (at the client)`,
        }),
      );
    return done(() =>
      use(deps, r, kubernetes, approval, "Elicitation", `${r.call.context.caller.grant} (at the client)`),
    );
  }
  if (settings.via === "elicitation")
    return done(() =>
      refuse(
        r,
        r.reply?.refusal ?? {
          decision: "denied",
          reason: "approval_denied",
          message: `The person at the client did not answer the approval question for '${tool}'. Call it again to be asked anew.`,
        },
        { name },
      ),
    );
  // Pending for a person with kubectl: wait a while on this retry, then ask for another.
  const waitUntil = Date.parse(approval.spec.waitUntil);
  if (waited || !(now < waitUntil)) {
    if (now < waitUntil) return done(() => ({ kind: "ask", state: r.state, question: false, approval }));
    return done(() =>
      refuse(
        r,
        {
          decision: "approval_required",
          reason: "approval_required",
          message: text.pendingMessage({
            tool,
            namespace: kubernetes.namespace,
            name: r.approval,
            waitedMs: settings.timeoutMs,
            ttlMs: settings.ttlMs,
            held: true,
          }),
        },
        { name },
      ),
    );
  }
  return { kind: "wait", approval };
}

/** The next version of the approval (undefined once deleted), or the same one after RETRY_WAIT_MS or its waitUntil. */
function changeOf(
  deps: CallApprovalDeps,
  kubernetes: KubernetesApprovals,
  approval: McpApprovalObject,
  signal: AbortSignal,
): Promise<McpApprovalObject | undefined> {
  const { clock } = deps.approvalRuntime;
  const name = approval.metadata.name;
  return new Promise((resolve) => {
    const cleanup: Array<() => void> = [];
    const finish = (value: McpApprovalObject | undefined) => {
      for (const undo of cleanup) undo();
      resolve(value);
    };
    cleanup.push(
      kubernetes.watch(name, (current) => {
        if (current?.metadata.resourceVersion !== approval.metadata.resourceVersion) finish(current);
      }),
    );
    const untilDeadline = Math.min(RETRY_WAIT_MS, Math.max(0, Date.parse(approval.spec.waitUntil) - clock.now()));
    const timer = clock.schedule(untilDeadline, () => finish(kubernetes.get(name) ?? approval));
    cleanup.push(() => timer.cancel());
    const onAbort = () => finish(approval);
    signal.addEventListener("abort", onAbort, { once: true });
    cleanup.push(() => signal.removeEventListener("abort", onAbort));
    // A change that came between the read and the watch.
    const latest = kubernetes.get(name);
    if (latest && latest.metadata.resourceVersion !== approval.metadata.resourceVersion) finish(latest);
  });
}

/** Admits the call's limits and records the approval's one use (the atomic step); then it is forwarded. */
async function use(
  deps: CallApprovalDeps,
  r: BoundRoundTrip,
  kubernetes: KubernetesApprovals,
  approval: McpApprovalObject,
  via: ApprovalUseType["via"],
  decidedBy: string,
): Promise<InputApprovalStep> {
  const { approvals } = deps.approvalRuntime;
  const name = `${kubernetes.namespace}/${approval.metadata.name}`;
  const admission = await deps.enforcer.admitApproved(r.call);
  if (admission.decision !== "allowed") {
    // Over a limit: the approval stays unused, for a retry once the limit allows.
    return refuse(
      r,
      {
        decision: admission.decision,
        reason: admission.reason,
        message: admission.message,
        retryAfterSeconds: admission.retryAfterSeconds,
      },
      { name },
    );
  }
  const binding = approvals.binding({
    policy: r.call.policy!,
    tool: r.call.request.tool,
    args: r.call.request.args,
    grant: r.call.context.caller.grant,
    session: r.call.context.session,
  });
  const settings = r.call.awaitingApproval!.plan.approval!;
  const usable =
    via === "Kubernetes"
      ? (a: McpApprovalObject) => approvals.unusable(a, binding, settings)
      : (a: McpApprovalObject) => approvals.unusableAfterElicitation(a, binding);
  let why: string;
  try {
    const result = await kubernetes.consume(approval, via, usable);
    if (result.ok) return { kind: "forward", record: { name, via, decidedBy }, admission };
    why = result.why;
  } catch (error) {
    why = `the use cannot be recorded: ${(error as Error).message.slice(0, 200)}`;
  }
  await deps.enforcer.release(admission);
  deps.log.info({ approval: name, why }, "approval could not be used");
  return refuse(
    r,
    {
      decision: "denied",
      reason: "approval_denied",
      message: `The approval state of this call is refused: it has already been used or can no longer be used (${why}). Call '${r.call.request.tool}' again without requestState to be asked anew.`,
    },
    { name },
  );
}
