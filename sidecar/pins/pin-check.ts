// How a policy's pins judge one tool against the live view: its pin matches, it drifted (a pin and
// another live digest), it has no pin, or the sidecar has not seen its definition yet. And what that
// means for tools/list (hide) and for calls (a [POLICY DENIED] that names the drift).
import type { CompiledPolicy } from "../../policy/compile.ts";
import type { PinsSpec } from "../../policy/schema.ts";
import type { Verdict } from "../tool-call.ts";
import type { LiveDefinitions } from "./live-definitions.ts";

export type PinState = "matches" | "drifted" | "unpinned" | "unknown";

/** The pins in force: undefined when the policy has none or they are Off. */
export function activePins(policy: CompiledPolicy | undefined): PinsSpec | undefined {
  const pins = policy?.spec.pins;
  return pins && pins.mode !== "Off" ? pins : undefined;
}

/** Whether the pins block anything: Enforce pins under a policy in Enforce mode. */
export function enforcedPins(policy: CompiledPolicy | undefined): PinsSpec | undefined {
  const pins = activePins(policy);
  return pins?.mode === "Enforce" && policy?.mode === "Enforce" ? pins : undefined;
}

export function pinState(pins: PinsSpec, live: LiveDefinitions, tool: string): PinState {
  const pinned = pins.tools?.[tool];
  const seen = live.get(tool, pinned);
  if (pinned === undefined) return seen ? "unpinned" : "unknown";
  if (!seen) return "unknown";
  return seen.digest === pinned && !seen.alternative ? "matches" : "drifted";
}

/** Whether a tool's state is one the pins act on (report, and in Enforce hide or deny). */
export function isDrift(pins: PinsSpec, state: PinState): boolean {
  return state === "drifted" || (state === "unpinned" && pins.newTools === "hide");
}

/** The tools/list filter the pins add, or undefined when they hide nothing. */
export function pinsHideTest(
  policy: CompiledPolicy | undefined,
  live: LiveDefinitions,
): ((tool: string) => boolean) | undefined {
  const pins = enforcedPins(policy);
  if (!pins || (pins.onDrift !== "hide" && pins.newTools !== "hide")) return undefined;
  return (tool) => {
    const state = pinState(pins, live, tool);
    if (state === "drifted") return pins.onDrift === "hide";
    // Listed but not judged (its name too long, or the live view full): not shown as reviewed.
    if (state === "unknown" && pins.tools?.[tool] !== undefined) return pins.onDrift === "hide";
    // A tool without a pin is hidden under newTools: hide, listed or not.
    return pins.tools?.[tool] === undefined && pins.newTools === "hide";
  };
}

/**
 * The denial of a call the pins refuse in Enforce, or undefined when they let it be decided by the
 * rules. A pinned tool whose definition the sidecar has not seen is refused too (fail closed): the
 * caller waits for a listing first (see the enforcer).
 */
export function pinVerdict(policy: CompiledPolicy, live: LiveDefinitions, tool: string): Verdict | undefined {
  const pins = enforcedPins(policy);
  if (!pins) return undefined;
  const state = pinState(pins, live, tool);
  const pinned = pins.tools?.[tool];
  const rule = pinned === undefined ? "/spec/pins/newTools" : `/spec/pins/tools/${escapePointer(tool)}`;
  if (state === "drifted") {
    const digest = live.get(tool, pinned)?.digest ?? "(not digestible)";
    return deny(
      "definition_drift",
      rule,
      `Tool '${tool}' changed its definition since it was reviewed (pinned ${short(pinned)}, now ${short(digest)}) and is not callable until the change is reviewed and its pin updated in policy ${policy.name}.`,
    );
  }
  if (pinned === undefined && pins.newTools === "hide") {
    return deny(
      "definition_unpinned",
      rule,
      `Tool '${tool}' has no reviewed definition in policy ${policy.name} (spec.pins.newTools: hide) and is not callable until it is pinned.`,
    );
  }
  if (state === "unknown" && pinned !== undefined) {
    return deny(
      "definition_unknown",
      rule,
      `Tool '${tool}' is pinned in policy ${policy.name} but the sidecar has not seen its definition yet, so it cannot tell whether it changed. Retry in a few seconds.`,
    );
  }
  return undefined;
}

function deny(reason: Verdict["reason"], rule: string, message: string): Verdict {
  return { decision: "denied", reason, rule, message };
}

/** A digest as people compare them: the algorithm and the first 12 hex digits. */
export function short(digest: string | undefined): string {
  return digest === undefined ? "(none)" : digest.slice(0, 19);
}

function escapePointer(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}
