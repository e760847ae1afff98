// Watches the live definitions against the pins of the policy in force and reports each drift once,
// as it starts: mcp_warden_tool_definition_drift{policy,tool} (1 while drifted, 0 while the pin
// matches), mcp_warden_tool_definition_drift_total, one audit line with the pinned and live digests
// and a bounded diff, and the drift report (Kubernetes Event on the McpPolicy, ADR 0133). Reporting
// does not depend on the pins' mode: Audit reports exactly what Enforce would block.
import type { Logger } from "pino";
import type { CompiledPolicy } from "../../policy/compile.ts";
import type { PinsSpec } from "../../policy/schema.ts";
import type { SidecarMetrics } from "../observability/metrics.ts";
import type { PolicyHolder } from "../policy-holder.ts";
import { versionOf } from "../tool-call.ts";
import { changedFields, definitionDiff } from "../../policy/pins/definition-diff.ts";
import type { LiveDefinitions } from "./live-definitions.ts";
import { activePins, isDrift, pinState, type PinState } from "./pin-check.ts";

/** One tool whose live definition does not match the pins. */
export interface DriftedTool {
  readonly tool: string;
  readonly state: Extract<PinState, "drifted" | "unpinned">;
  /** The pin (undefined for an unpinned tool). */
  readonly pinned: string | undefined;
  readonly live: string | undefined;
  readonly fields: readonly string[];
  readonly diff: string;
}

/** Every drifted tool of the policy in force, after each change (what a drift report says). */
export interface DriftSnapshot {
  readonly policy: string;
  readonly generation: number | undefined;
  readonly mode: PinsSpec["mode"];
  readonly drifted: readonly DriftedTool[];
}

export interface DriftMonitorDeps {
  holder: PolicyHolder;
  live: LiveDefinitions;
  metrics: SidecarMetrics;
  audit: Logger;
  /** Called with the complete drift after every change of it (debounce downstream). */
  report?: (snapshot: DriftSnapshot) => void;
}

export class DriftMonitor {
  private readonly deps: DriftMonitorDeps;
  /** Drifted tools of the current policy, by name, with the live digest they drifted to. */
  private drifted = new Map<string, DriftedTool>();
  /** Tools with a drift gauge series, for removal when the policy changes. */
  private gauged = new Set<string>();
  private policyName: string | undefined;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(deps: DriftMonitorDeps) {
    this.deps = deps;
    this.unsubscribe = deps.live.onChange((changed) => this.check(changed));
    deps.holder.onChange(() => {
      if (!this.stopped) this.recheckAll();
    });
    this.recheckAll();
  }

  /** The drifted tools now. */
  current(): readonly DriftedTool[] {
    return [...this.drifted.values()];
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
  }

  /** A new policy: its pins judge every tool afresh (an accepted drift is no longer one). */
  private recheckAll(): void {
    const policy = this.deps.holder.current;
    const pins = activePins(policy);
    if (policy?.name !== this.policyName || !pins) {
      for (const tool of this.gauged)
        this.deps.metrics.toolDefinitionDrift.remove({ policy: this.policyName ?? "_none", tool });
      this.gauged.clear();
    }
    this.policyName = policy?.name;
    const before = this.drifted;
    this.drifted = new Map();
    if (policy && pins) {
      const tools = new Set([...Object.keys(pins.tools ?? {}), ...this.deps.live.names()]);
      for (const tool of tools) this.judge(policy, pins, tool, before.get(tool));
      for (const tool of this.gauged) if (!tools.has(tool)) this.ungauge(policy.name, tool);
    }
    this.publish(before, true);
  }

  private check(changed: readonly string[]): void {
    const policy = this.deps.holder.current;
    const pins = activePins(policy);
    if (!policy || !pins) return;
    const before = new Map(this.drifted);
    for (const tool of changed) {
      const previous = this.drifted.get(tool);
      this.drifted.delete(tool);
      this.judge(policy, pins, tool, previous);
    }
    this.publish(before);
  }

  private judge(policy: CompiledPolicy, pins: PinsSpec, tool: string, previous: DriftedTool | undefined): void {
    const state = pinState(pins, this.deps.live, tool);
    const tracked = pins.tools?.[tool] !== undefined || isDrift(pins, state);
    if (!tracked) {
      this.ungauge(policy.name, tool);
      return;
    }
    if (state === "unknown") return; // not seen yet: no gauge either way
    const drifting = isDrift(pins, state);
    this.deps.metrics.toolDefinitionDrift.set({ policy: policy.name, tool }, drifting ? 1 : 0);
    this.gauged.add(tool);
    if (!drifting) return;
    const live = this.deps.live.get(tool, pins.tools?.[tool]);
    if (previous && previous.live === live?.digest) {
      this.drifted.set(tool, previous); // the same drift, already reported
      return;
    }
    const pinned = pins.tools?.[tool];
    const before = pinned === undefined ? undefined : this.deps.live.definitionWithDigest(pinned);
    const after = live?.definition ?? {};
    const entry: DriftedTool = {
      tool,
      state: state as DriftedTool["state"],
      pinned,
      live: live?.digest,
      fields: before ? changedFields(before, after) : [],
      diff: definitionDiff(before, after),
    };
    this.drifted.set(tool, entry);
    this.deps.metrics.toolDefinitionDriftTotal.inc({ policy: policy.name, tool });
    this.deps.audit.warn(
      {
        event: "tool_definition_drift",
        policy: policy.name,
        policyVersion: versionOf(policy),
        pinsMode: pins.mode,
        mode: policy.mode,
        tool: tool.length > 256 ? `${tool.slice(0, 256)}…` : tool,
        change: entry.state,
        pinnedDigest: pinned ?? null,
        previousDigest: previous?.live ?? null,
        liveDigest: entry.live ?? null,
        action: actionOf(policy, pins, entry.state),
        changedFields: entry.fields,
        pinnedDefinitionSeen: before !== undefined,
        diff: entry.diff,
      },
      "tool definition drift",
    );
  }

  private ungauge(policy: string, tool: string): void {
    if (this.gauged.delete(tool)) this.deps.metrics.toolDefinitionDrift.remove({ policy, tool });
  }

  /** Reports the drift when it changed, or always after a policy change (the report names its generation). */
  private publish(before: ReadonlyMap<string, DriftedTool>, policyChanged = false): void {
    const same = before.size === this.drifted.size && [...this.drifted].every(([tool, d]) => before.get(tool) === d);
    const policy = this.deps.holder.current;
    const pins = activePins(policy);
    if (same && !policyChanged) return;
    // A policy without pins reports only to take back an earlier report's drift.
    if (!policy || (!pins && before.size === 0)) return;
    this.deps.report?.({
      policy: policy.name,
      generation: policy.generation,
      mode: pins?.mode ?? "Off",
      drifted: this.current(),
    });
  }
}

/** What the sidecar does about a drift: hidden, denied (on call), or only reported. */
function actionOf(
  policy: CompiledPolicy,
  pins: PinsSpec,
  state: DriftedTool["state"],
): "hidden" | "denied" | "reported" {
  if (pins.mode !== "Enforce" || policy.mode !== "Enforce") return "reported";
  if (state === "unpinned") return "hidden";
  return pins.onDrift === "hide" ? "hidden" : "denied";
}
