import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DRIFT_REPORT_ANNOTATION, writeDriftReport, type DriftReportType } from "../../policy/pins/drift-report.ts";
import type { McpPolicySpecType } from "../../policy/schema.ts";
import { definitionsPinnedCondition, summarizeDriftEvent } from "./drift-reports.ts";

const PIN = `sha256:${"a".repeat(64)}`;
const LIVE = `sha256:${"b".repeat(64)}`;
const spec = (pins: Partial<NonNullable<McpPolicySpecType["pins"]>> | undefined) =>
  ({
    mode: "Enforce",
    default: "deny",
    ...(pins
      ? { pins: { mode: "Enforce", onDrift: "hide", newTools: "allow", tools: { send_mail: PIN }, ...pins } }
      : {}),
  }) as McpPolicySpecType;
const report = (pod: string, generation: number, tools: DriftReportType["tools"]): DriftReportType => ({
  pod,
  generation,
  mode: "Enforce",
  tools,
  omitted: 0,
});
const drifted = {
  tool: "send_mail",
  state: "drifted" as const,
  pinned: PIN,
  live: LIVE,
  fields: ["description"],
  diff: "-a\n+b",
};

describe("DefinitionsPinned from the sidecars' drift reports", () => {
  it("is absent without spec.pins and Unknown when they are Off", () => {
    assert.equal(definitionsPinnedCondition(spec(undefined), 1, [], new Set()), undefined);
    assert.equal(definitionsPinnedCondition(spec({ mode: "Off" }), 1, [], new Set())?.status, "Unknown");
  });

  it("is True while no current report of a pod running the sidecar names a drift", () => {
    const pods = new Set(["tools-0"]);
    const ignored = [report("tools-0", 1, [drifted]), report("gone-0", 2, [drifted])];
    const condition = definitionsPinnedCondition(spec({}), 2, ignored, pods);
    assert.deepEqual(condition, {
      type: "DefinitionsPinned",
      status: "True",
      reason: "DefinitionsMatch",
      message: "No sidecar reports a tool definition that differs from spec.pins (1 pinned tools, 1 pods).",
    });
  });

  it("is False with the drifted tools, their digests and pods, and what happens to them", () => {
    const pods = new Set(["tools-0", "tools-1"]);
    const unpinned = { tool: "brand_new", state: "unpinned" as const, pinned: null, live: LIVE, fields: [], diff: "" };
    const condition = definitionsPinnedCondition(
      spec({}),
      3,
      [report("tools-0", 3, [drifted, unpinned]), report("tools-1", 3, [drifted])],
      pods,
    );
    assert.equal(condition?.status, "False");
    assert.equal(condition?.reason, "DefinitionsDrifted");
    assert.equal(
      condition?.message,
      "2 tool definitions differ from spec.pins, they are not callable until a person reviews and accepts them: brand_new (no pin; 1 pod), " +
        "send_mail (pinned sha256:aaaaaaaaaaaa, live sha256:bbbbbbbbbbbb; 2 pods). Review: kubectl mcp-warden pins diff -n NAMESPACE NAME; accept: kubectl mcp-warden pins accept -n NAMESPACE NAME [TOOL...].",
    );
    const audit = definitionsPinnedCondition(spec({ mode: "Audit" }), 3, [report("tools-0", 3, [drifted])], pods);
    assert.match(audit?.message ?? "", /reported only \(Audit\)/);
  });

  it("reads reports from Events and skips annotations that are not reports", () => {
    const event = {
      metadata: {
        name: "tools.pins.tools-0",
        namespace: "agents",
        annotations: { [DRIFT_REPORT_ANNOTATION]: writeDriftReport(report("tools-0", 1, [drifted])) },
      },
      involvedObject: { name: "tools" },
    };
    const summary = summarizeDriftEvent(event);
    assert.equal(summary.policy, "tools");
    assert.equal(summary.report?.tools[0]?.live, LIVE);
    assert.equal(
      summarizeDriftEvent({
        ...event,
        metadata: { ...event.metadata, annotations: { [DRIFT_REPORT_ANNOTATION]: "{not json" } },
      }).report,
      undefined,
    );
  });
});
