// Writes the Grafana dashboard generated from monitoring/dashboard/ into the chart. Run after
// changing a panel; a test fails when the two drift.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DASHBOARD_FILE, renderDashboardJson } from "../monitoring/dashboard/dashboard.ts";

writeFileSync(join(import.meta.dirname, "..", DASHBOARD_FILE), renderDashboardJson());
process.stdout.write(`wrote ${DASHBOARD_FILE}\n`);
