// Renders the mcp-warden Grafana dashboard from the panel data in panels.ts: variables (data
// source, namespace, policy, tool), a row per RowSpec, panels laid out left to
// right on Grafana's 24-column grid. `npm run generate:dashboard` writes the result into the chart.
import { ROWS, type PanelSpec, type RowSpec } from "./panels.ts";

export const DASHBOARD_FILE = "charts/mcp-warden/dashboards/mcp-warden.json";
export const DASHBOARD_UID = "mcp-warden";

const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

export interface VariableSpec {
  name: string;
  label: string;
  /** label_values(<selector>, <label>) */
  query: string;
}

/** The query variables, each narrowed by the ones before it. */
export const VARIABLES: readonly VariableSpec[] = [
  {
    name: "namespace",
    label: "Namespace",
    query: 'label_values(mcp_warden_build_info{component="sidecar"}, namespace)',
  },
  { name: "policy", label: "Policy", query: 'label_values(mcp_warden_policy_info{namespace=~"$namespace"}, policy)' },
  {
    name: "tool",
    label: "Tool",
    query: 'label_values(mcp_warden_tool_calls_total{namespace=~"$namespace", policy=~"$policy"}, tool)',
  },
];

type Json = Record<string, unknown>;

function variable(spec: VariableSpec): Json {
  return {
    name: spec.name,
    label: spec.label,
    type: "query",
    datasource: DATASOURCE,
    definition: spec.query,
    query: { query: spec.query, refId: `${spec.name}-variable` },
    refresh: 2, // on time range change
    includeAll: true,
    allValue: ".*",
    multi: true,
    sort: 1,
    current: { selected: true, text: ["All"], value: ["$__all"] },
  };
}

function panel(spec: PanelSpec, id: number, gridPos: Json): Json {
  const overrides = Object.entries(spec.colors ?? {}).map(([name, color]) => ({
    matcher: { id: "byName", options: name },
    properties: [{ id: "color", value: { mode: "fixed", fixedColor: color } }],
  }));
  const custom =
    spec.kind === "timeseries"
      ? {
          drawStyle: "line",
          lineWidth: 1,
          fillOpacity: spec.stacked ? 60 : 10,
          showPoints: "never",
          spanNulls: false,
          stacking: { mode: spec.stacked ? "normal" : "none", group: "A" },
        }
      : {};
  const options =
    spec.kind === "timeseries"
      ? {
          legend: { displayMode: "table", placement: "right", calcs: ["mean", "max"], showLegend: true },
          tooltip: { mode: "multi", sort: "desc" },
        }
      : spec.kind === "stat"
        ? {
            reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
            colorMode: "value",
            graphMode: "none",
            textMode: "auto",
          }
        : { showHeader: true, cellHeight: "sm" };
  return {
    id,
    type: spec.kind,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: {
      defaults: { unit: spec.unit, custom, ...(spec.kind === "stat" ? { color: { mode: "thresholds" } } : {}) },
      overrides,
    },
    options,
    ...(spec.kind === "table"
      ? {
          transformations: [
            { id: "labelsToFields", options: { mode: "columns" } },
            { id: "merge", options: {} },
          ],
        }
      : {}),
    targets: spec.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: t.expr,
      legendFormat: t.legend,
      ...(t.exemplar ? { exemplar: true } : {}),
      ...(spec.kind === "timeseries"
        ? { range: true, instant: false }
        : { range: false, instant: true, format: spec.kind === "table" ? "table" : "time_series" }),
    })),
  };
}

export function renderDashboard(rows: readonly RowSpec[] = ROWS): Json {
  const panels: Json[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({
      id: id++,
      type: "row",
      title: row.title,
      collapsed: false,
      gridPos: { x: 0, y, w: 24, h: 1 },
      panels: [],
    });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const spec of row.panels) {
      const h = spec.height ?? 8;
      if (x + spec.width > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push(panel(spec, id++, { x, y, w: spec.width, h }));
      x += spec.width;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: DASHBOARD_UID,
    title: "mcp-warden",
    description: "MCP tool calls decided by mcp-warden sidecars, and the operator that injects them.",
    tags: ["mcp-warden", "mcp"],
    editable: true,
    graphTooltip: 1,
    refresh: "30s",
    schemaVersion: 39,
    time: { from: "now-3h", to: "now" },
    timezone: "browser",
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: "grafana", uid: "-- Grafana --" },
          enable: true,
          hide: true,
          iconColor: "rgba(0, 211, 255, 1)",
          name: "Annotations & Alerts",
          type: "dashboard",
        },
      ],
    },
    templating: {
      list: [
        {
          name: "datasource",
          label: "Data source",
          type: "datasource",
          query: "prometheus",
          current: {},
          hide: 0,
          refresh: 1,
        },
        ...VARIABLES.map(variable),
      ],
    },
    panels,
  };
}

export function renderDashboardJson(rows: readonly RowSpec[] = ROWS): string {
  return `${JSON.stringify(renderDashboard(rows), null, 2)}\n`;
}
