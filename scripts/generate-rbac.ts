// Writes the RBAC the chart installs, for the default names: the operator's
// (operator/rbac/operator-rbac.yaml), the approvers' (operator/rbac/approver-role.yaml) and the pins
// approvers' (operator/rbac/pins-approver-role.yaml).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { APPROVER_RBAC_FILE, renderApproverYaml } from "../operator/rbac/approver-role.ts";
import { OPERATOR_RBAC_FILE, renderOperatorRbacYaml } from "../operator/rbac/operator-rbac.ts";
import { PINS_APPROVER_RBAC_FILE, renderPinsApproverYaml } from "../operator/rbac/pins-approver-role.ts";

for (const [file, text] of [
  [OPERATOR_RBAC_FILE, renderOperatorRbacYaml()],
  [APPROVER_RBAC_FILE, renderApproverYaml()],
  [PINS_APPROVER_RBAC_FILE, renderPinsApproverYaml()],
] as const) {
  writeFileSync(join(import.meta.dirname, "..", file), text);
  process.stdout.write(`wrote ${file}\n`);
}
