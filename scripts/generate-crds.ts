// Writes the CRDs generated from the zod schema into crds/. Run after changing policy/schema.ts.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { MCP_POLICY_CRD_FILE, renderMcpPolicyCrdYaml } from "../operator/crd/mcppolicy-crd.ts";

const root = join(import.meta.dirname, "..");
const target = join(root, MCP_POLICY_CRD_FILE);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, renderMcpPolicyCrdYaml());
process.stdout.write(`wrote ${MCP_POLICY_CRD_FILE}\n`);
