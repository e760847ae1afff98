// Writes the operator's RBAC for the default names (operator/rbac/operator-rbac.yaml).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OPERATOR_RBAC_FILE, renderOperatorRbacYaml } from "../operator/rbac/operator-rbac.ts";

writeFileSync(join(import.meta.dirname, "..", OPERATOR_RBAC_FILE), renderOperatorRbacYaml());
process.stdout.write(`wrote ${OPERATOR_RBAC_FILE}\n`);
