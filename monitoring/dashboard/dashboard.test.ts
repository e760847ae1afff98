import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { checkExpression, metricCatalog } from "../../test/support/metric-catalog.ts";
import { DASHBOARD_FILE, renderDashboard, renderDashboardJson, VARIABLES } from "./dashboard.ts";
import { ROWS } from "./panels.ts";

const root = join(import.meta.dirname, "..", "..");

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; refId: string; datasource: { uid: string } }>;
}

describe("Grafana dashboard", () => {
  const dashboard = renderDashboard() as {
    uid: string;
    panels: Panel[];
    templating: { list: Array<Record<string, unknown>> };
  };
  const panels = dashboard.panels.filter((p) => p.type !== "row");

  it("is checked into the chart exactly as generated (run npm run generate:dashboard)", () => {
    assert.equal(readFileSync(join(root, DASHBOARD_FILE), "utf8"), renderDashboardJson());
  });

  it("has panels for decisions, denials by tool and reason, rate limits, upstream latency, policy versions, injections and unenforced pods", () => {
    const titles = panels.map((p) => p.title);
    for (const wanted of [
      "Tool calls per second by decision",
      "Denied calls by tool",
      "Denied calls by reason",
      "Rate-limited calls by tool",
      "Upstream latency p50 / p99 by tool",
      "Policy versions in force",
      "Policy versions rejected",
      "Injections by result",
      "Pods selected but not enforced",
    ])
      assert.ok(titles.includes(wanted), `missing panel "${wanted}"`);
    assert.equal(new Set(titles).size, titles.length, "panel titles are unique (the Prometheus proof keys on them)");
  });

  it("shows the upstream latency's exemplars, the link from a slow bucket to its trace", () => {
    const latency = panels.find((p) => p.title === "Upstream latency p50 / p99 by tool") as unknown as {
      targets: { exemplar?: boolean }[];
    };
    assert.deepEqual(
      latency.targets.map((t) => t.exemplar),
      [true, true],
    );
  });

  it("has the variables data source, namespace, policy and tool, multi-value with All as .*", () => {
    const list = dashboard.templating.list;
    assert.deepEqual(
      list.map((v) => v.name),
      ["datasource", "namespace", "policy", "tool"],
    );
    for (const v of list.slice(1)) {
      assert.equal(v.type, "query");
      assert.equal(v.includeAll, true);
      assert.equal(v.allValue, ".*");
      assert.equal(v.multi, true);
      assert.deepEqual(v.datasource, { type: "prometheus", uid: "${datasource}" });
    }
  });

  it("queries only metrics and labels the sidecar and the operator export", () => {
    const catalog = metricCatalog();
    const problems = [
      ...panels.flatMap((p) =>
        (p.targets ?? []).flatMap((t) => checkExpression(t.expr, catalog).map((problem) => `${p.title}: ${problem}`)),
      ),
      ...VARIABLES.flatMap((v) => checkExpression(v.query, catalog).map((problem) => `variable ${v.name}: ${problem}`)),
    ];
    assert.deepEqual(problems, []);
  });

  it("catches a query on a metric or label that does not exist", () => {
    assert.deepEqual(checkExpression('sum by (tool) (rate(mcp_warden_tool_call_total{decision="denied"}[5m]))'), [
      "unknown metric mcp_warden_tool_call_total",
      "grouping by tool, which none of mcp_warden_tool_call_total has",
    ]);
    assert.deepEqual(checkExpression('sum by (verdict) (rate(mcp_warden_tool_calls_total{outcome="x"}[5m]))'), [
      "mcp_warden_tool_calls_total has no label outcome",
      "grouping by verdict, which none of mcp_warden_tool_calls_total has",
    ]);
  });

  it("uses the data source variable and filters sidecar panels by the variables", () => {
    for (const p of panels) {
      assert.deepEqual(p.datasource, { type: "prometheus", uid: "${datasource}" }, p.title);
      for (const t of p.targets ?? []) {
        assert.equal(t.datasource.uid, "${datasource}");
        if (/mcp_warden_tool_calls_total|mcp_warden_upstream_duration/.test(t.expr)) {
          for (const variable of ["$namespace", "$policy", "$tool"])
            assert.ok(t.expr.includes(variable), `${p.title} ignores ${variable}`);
        }
      }
    }
  });

  it("lays panels out on the 24-column grid without overlaps", () => {
    const cells = new Set<string>();
    const ids = new Set<number>();
    for (const p of dashboard.panels) {
      assert.ok(!ids.has(p.id), `duplicate id ${p.id}`);
      ids.add(p.id);
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24, `${p.title} fits the grid`);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          assert.ok(!cells.has(`${i},${j}`), `${p.title} overlaps another panel`);
          cells.add(`${i},${j}`);
        }
      }
    }
  });

  it("takes another row or panel as data (how the approvals panel is added)", () => {
    const extra = {
      title: "Approvals",
      panels: [
        {
          title: "Approvals pending and decided",
          description: "d",
          kind: "timeseries" as const,
          unit: "short",
          width: 24,
          targets: [{ expr: "sum(up)", legend: "x" }],
        },
      ],
    };
    const withRow = renderDashboard([...ROWS, extra]) as { panels: Panel[] };
    assert.equal(withRow.panels.length, dashboard.panels.length + 2);
    assert.equal(withRow.panels.at(-1)?.title, "Approvals pending and decided");
  });
});
