// The dashboard's queries as Grafana would send them: variables substituted (multi-value regexes,
// "All" = .*), $__rate_interval given a value.
import { VARIABLES } from "../../monitoring/dashboard/dashboard.ts";

export interface Selection {
  namespace: string;
  policy: string;
  tool: string;
}

export const ALL: Selection = { namespace: ".*", policy: ".*", tool: ".*" };

export interface DashboardTarget {
  panel: string;
  refId: string;
  expr: string;
}

interface DashboardJson {
  panels: Array<{ type: string; title: string; targets?: Array<{ refId: string; expr: string }> }>;
}

export function dashboardTargets(dashboard: DashboardJson): DashboardTarget[] {
  return dashboard.panels
    .filter((p) => p.type !== "row")
    .flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));
}

/** Grafana's escaping of a single value for a Prometheus regex matcher. */
export const regexValue = (value: string) => value.replace(/[\\^$*+?.()|[\]{}]/g, "\\\\$&");

export function substitute(expr: string, selection: Selection, rateInterval: string): string {
  const unknown = [...expr.matchAll(/\$(\w+)/g)]
    .map((m) => m[1])
    .filter((name) => name !== "__rate_interval" && !(name && name in selection));
  if (unknown.length > 0) throw new Error(`unknown variables ${unknown.join(", ")} in ${expr}`);
  return expr
    .replaceAll("$__rate_interval", rateInterval)
    .replace(/\$(namespace|policy|tool)\b/g, (_m, name: keyof Selection) => selection[name]);
}

/** label_values(<selector>, <label>) of a variable, with the variables before it substituted. */
export function variableQuery(name: string, selection: Selection): { label: string; selector: string } {
  const variable = VARIABLES.find((v) => v.name === name);
  const match = variable && /^label_values\((.*),\s*(\w+)\)$/.exec(variable.query);
  if (!match) throw new Error(`no label_values() variable ${name}`);
  return { selector: substitute(match[1] as string, selection, "1m"), label: match[2] as string };
}
