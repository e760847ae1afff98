// What the agent reads about an approval. Each text says what happened and what to do next; the
// sidecar puts the [APPROVAL REQUIRED] / [POLICY DENIED] prefix in front.
import { describeWindow } from "../../policy/duration.ts";
import { approveCommand } from "../../policy/approval/state.ts";

const span = (ms: number) => describeWindow(`${ms}ms`, ms);

export function pendingMessage(p: {
  tool: string;
  namespace: string;
  name: string;
  waitedMs: number;
  ttlMs: number;
  held: boolean;
}): string {
  const waited = p.held ? ` No decision came within ${span(p.waitedMs)}.` : "";
  return (
    `Calls to '${p.tool}' need approval by a person. Approval ${p.namespace}/${p.name} is waiting for a decision.${waited} ` +
    `Someone allowed to approve runs: ${approveCommand(p.namespace, p.name)}. ` +
    `Once it is approved, call '${p.tool}' again with exactly the same arguments within ${span(p.ttlMs)}; other arguments need a new approval.`
  );
}

export function deniedMessage(p: {
  tool: string;
  approval: string | undefined;
  by: string;
  reason: string | undefined;
}): string {
  const which = p.approval ? `Approval ${p.approval} for '${p.tool}'` : `The call to '${p.tool}'`;
  const reason = p.reason ? `: ${p.reason}${/[.!?]$/.test(p.reason) ? "" : "."}` : ".";
  return `${which} was denied by ${p.by}${reason} Do not retry it with these arguments.`;
}

export function expiredMessage(p: { tool: string; approval: string }): string {
  return `Approval ${p.approval} for '${p.tool}' expired before anyone decided. Call '${p.tool}' again to ask for a new approval if it is still needed.`;
}

export function unansweredMessage(p: { tool: string; waitedMs: number }): string {
  return `Calls to '${p.tool}' need approval by a person, and nobody answered the request at the client within ${span(p.waitedMs)}. Call it again to ask again.`;
}

export function unavailableMessage(p: { tool: string; why: string }): string {
  return `Calls to '${p.tool}' need approval by a person, but no approval can be requested right now (${p.why}). Retry in a minute, or ask an operator.`;
}

export function staleMessage(p: { tool: string }): string {
  return `The policy changed while this call to '${p.tool}' waited for approval, so that approval no longer applies. Call '${p.tool}' again to ask under the current policy.`;
}

export function usedElsewhereMessage(p: { tool: string; approval: string }): string {
  return `Approval ${p.approval} for '${p.tool}' was used by another call at the same moment; an approval runs one call. Call '${p.tool}' again to ask for a new approval.`;
}
