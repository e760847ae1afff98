// The chart's alerts, rendered by helm and checked by Prometheus's own promtool: `promtool check
// rules` for syntax, `promtool test rules` with alerts.promtool.yaml for behaviour (every alert has a
// case where it fires, with its exact labels and annotations, and one where it stays quiet).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { checkExpression } from "../support/metric-catalog.ts";
import { get, renderChart } from "./chart.ts";

const TESTS_FILE = join(import.meta.dirname, "alerts.promtool.yaml");

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface RuleGroups {
  groups: Array<{ name: string; rules: Rule[] }>;
}

/** The PrometheusRule's spec as a Prometheus rules file (the values the promtool tests assume). */
async function renderRules(set: Record<string, unknown> = {}): Promise<RuleGroups> {
  const docs = await renderChart({
    set: { "monitoring.prometheusRule.enabled": true, "monitoring.serviceMonitor.enabled": true, ...set },
  });
  return get<{ spec: RuleGroups }>(docs, "PrometheusRule", "mcp-warden").spec;
}

function promtool(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile("promtool", args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number")
        reject(new Error(`promtool could not run (scripts/prerequisites.sh installs it): ${error.message}`));
      else resolve({ code: typeof error?.code === "number" ? error.code : 0, output: stdout + stderr });
    });
  });
}

describe("PrometheusRule alerts (promtool)", () => {
  let dir: string;
  let rules: RuleGroups;
  const alerts = () => rules.groups.flatMap((g) => g.rules);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcp-warden-alerts-"));
    rules = await renderRules();
    writeFileSync(join(dir, "rules.yaml"), stringify(rules));
    copyFileSync(TESTS_FILE, join(dir, "alerts.promtool.yaml"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("pass promtool check rules", async () => {
    const { code, output } = await promtool(["check", "rules", "rules.yaml"], dir);
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`SUCCESS: ${alerts().length} rules found`));
  });

  it("pass their promtool unit tests", async () => {
    const { code, output } = await promtool(["test", "rules", "alerts.promtool.yaml"], dir);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS/);
  });

  it("each have a promtool case where they fire and one where they stay quiet", () => {
    const tests = (
      parse(readFileSync(TESTS_FILE, "utf8")) as {
        tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
      }
    ).tests;
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alerts()) {
      assert.ok(
        cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0),
        `${alert} has no case where it fires`,
      );
      assert.ok(
        cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0),
        `${alert} has no case where it stays quiet`,
      );
    }
    const known = new Set(alerts().map((a) => a.alert));
    for (const c of cases)
      assert.ok(known.has(c.alertname), `a case for ${c.alertname}, which the chart does not define`);
  });

  it("fail when an alert changes behaviour (the unit tests bite)", async () => {
    const slower = await renderRules({ "monitoring.prometheusRule.alerts.podsNotEnforced.for": "30m" });
    const mutated = mkdtempSync(join(tmpdir(), "mcp-warden-alerts-mutated-"));
    try {
      writeFileSync(join(mutated, "rules.yaml"), stringify(slower));
      copyFileSync(TESTS_FILE, join(mutated, "alerts.promtool.yaml"));
      const { code, output } = await promtool(["test", "rules", "alerts.promtool.yaml"], mutated);
      assert.notEqual(code, 0);
      assert.match(output, /FAILED:[\s\S]*alertname: McpWardenPodsNotEnforced, time: 20m/);
    } finally {
      rmSync(mutated, { recursive: true, force: true });
    }
  });

  it("use only metrics and labels the sidecar and the operator export", () => {
    const problems = alerts().flatMap((a) => checkExpression(a.expr).map((p) => `${a.alert}: ${p}`));
    assert.deepEqual(problems, []);
  });

  it("take their thresholds from values", async () => {
    const tuned = await renderRules({
      "monitoring.prometheusRule.alerts.denialSpike": { factor: 5, minPerSecond: 1, for: "2m" },
      "monitoring.prometheusRule.alerts.certificateExpiry.days": 3,
      "monitoring.prometheusRule.alerts.webhookLatency.p99Seconds": 0.5,
    });
    const byName = new Map(tuned.groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));
    assert.match(byName.get("McpWardenDenialSpike")?.expr ?? "", /> 1\n[\s\S]*> 5 \* \(/);
    assert.equal(byName.get("McpWardenDenialSpike")?.for, "2m");
    assert.match(byName.get("McpWardenWebhookCertificateExpiresSoon")?.expr ?? "", /< 3 \* 86400/);
    assert.match(byName.get("McpWardenWebhookSlow")?.expr ?? "", /> 0\.5\n?$/);
  });
});
